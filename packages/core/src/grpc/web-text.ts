import { Transform, type TransformCallback } from 'node:stream';

const BASE64 = /^[A-Za-z0-9+/=]*$/;

/**
 * Decodes a `grpc-web-text` request body (base64) as it streams: chunk boundaries need not fall on
 * 4-character groups, and a sender may pad each message on its own, so padding can come mid-body
 * (each padded group is decoded by itself). Anything but base64 fails the body.
 */
export class Base64Decoder extends Transform {
  #carry = '';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.#carry + chunk.toString('latin1');
    if (!BASE64.test(text)) {
      done(new Error('grpc-web-text body is not base64'));
      return;
    }
    const whole = text.length - (text.length % 4);
    this.#carry = text.slice(whole);
    let start = 0;
    for (let pad = text.indexOf('=', start); pad !== -1 && pad < whole; pad = text.indexOf('=', start)) {
      // The group holding this padding ends the segment; the decoder stops at the first '='.
      const end = pad - (pad % 4) + 4;
      this.#push(text.slice(start, end));
      start = end;
    }
    if (start < whole) this.#push(text.slice(start, whole));
    done();
  }

  override _flush(done: TransformCallback): void {
    done(this.#carry === '' ? undefined : new Error('grpc-web-text body ends inside a base64 group'));
  }

  #push(group: string): void {
    const bytes = Buffer.from(group, 'base64');
    if (bytes.length > 0) this.push(bytes);
  }
}

/**
 * Encodes a `grpc-web-text` answer as one continuous base64 stream: whole 3-byte groups go out
 * as they come, the remainder (0-2 bytes) waits for the next chunk or the end.
 */
export class Base64Encoder {
  #carry: Buffer | undefined;

  /** The base64 of every whole group so far (may be empty). */
  write(chunk: Buffer): string {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const whole = data.length - (data.length % 3);
    this.#carry = whole < data.length ? Buffer.from(data.subarray(whole)) : undefined;
    return whole === 0 ? '' : data.toString('base64', 0, whole);
  }

  /** The rest, padded. */
  end(last?: Buffer): string {
    const data = this.#carry ? (last ? Buffer.concat([this.#carry, last]) : this.#carry) : last;
    this.#carry = undefined;
    return data ? data.toString('base64') : '';
  }
}
