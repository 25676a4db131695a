/**
 * `lucid-gateway --help | head -3`: the reader closes the pipe, and the next write fails with
 * EPIPE. Nobody is left to read the answer, so the CLI ends quietly (exit 0, as `cat` would end)
 * instead of crashing on an unhandled 'error' event with a stack trace.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', function closedPipe(err: NodeJS.ErrnoException) {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
