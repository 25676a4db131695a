// Stand-in for lucid-blockchain-engine: a chain that grows one block every ten seconds.
import { createHash } from 'node:crypto';
import { json, router, via } from './http.mjs';
import { OPENAPI } from './openapi.mjs';

const BLOCK_MS = 10_000;
const hashOf = (height) => `0x${createHash('sha256').update(`lucid-demo-block-${height}`).digest('hex')}`;

function block(height, genesis) {
  return {
    height,
    hash: hashOf(height),
    parentHash: height > 0 ? hashOf(height - 1) : null,
    timestamp: new Date(genesis + height * BLOCK_MS).toISOString(),
    transactions: (height * 7) % 13,
  };
}

/** @example listen(blockchainService()) */
export function blockchainService({ genesis = Date.now() - 1_000 * BLOCK_MS } = {}) {
  const head = () => Math.floor((Date.now() - genesis) / BLOCK_MS);
  return router(
    'lucid-blockchain-engine',
    {
      'GET /blocks/latest': (req, res) => json(res, 200, { block: block(head(), genesis), via: via(req) }),
      'GET /blocks/:height': (req, res, { height }) => {
        const h = Number(height);
        if (!Number.isInteger(h) || h < 0 || h > head())
          return json(res, 404, { error: 'no_such_block', height });
        json(res, 200, { block: block(h, genesis), via: via(req) });
      },
    },
    OPENAPI.blockchain,
  );
}
