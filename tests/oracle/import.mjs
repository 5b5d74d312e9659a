// Differential-test oracle: runs the reference JavaScript UnixFS importer
// (npm ipfs-unixfs-importer, pinned in package.json) over files on disk.
//
// stdin:  one JSON request
//           {"options": {...}, "entries": [{"path": "root/a/b.txt", "file": "/abs/file"},
//                                          {"path": "root/emptydir"}, ...]}
//         or a batch of them, {"batch": [request, request, ...]}, each run with its own
//         blockstore (one node process for many cases).
// stdout: one JSON answer
//           {"results": [{"path": ..., "cid": "<cid>", "size": "<decimal>"}, ...],
//            "blocks": ["<cid>", ...]}
//         or {"batch": [answer, answer, ...]}.
//
// "results" are the importer's yielded entries in its order; "size" is its cumulative DAG size
// (a link's Tsize). A directory comes after its contents; beware that a HAMT-sharded directory
// re-labels its subdirectories' results with its own path, so take the *last* result of a path.
// "blocks" lists every distinct CID put into the blockstore, first-put order.
// CIDs are multiformats' toString(): Qm... for v0, base32 "b..." for v1.
//
// Options: profile ("unixfs-v0-2015" | "unixfs-v1-2025"), cidVersion, rawLeaves,
// chunkSize (-> chunker: fixedSize({chunkSize})), maxChildrenPerNode
// (-> layout: balanced({maxChildrenPerNode})), shardSplitThresholdBytes, shardSplitStrategy
// ("links-bytes" | "block-bytes"), reduceSingleLeafToSelf. Unset options keep the importer's
// own defaults (those of the profile, if one is given). Unknown options are refused.
//
// Paths are handed over as given: the importer splits them on "/" not preceded by "\" and
// drops "." components, so callers must avoid such names.

import { createReadStream, readFileSync, statSync } from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const KNOWN_OPTIONS = new Set([
  'profile', 'cidVersion', 'rawLeaves', 'chunkSize', 'maxChildrenPerNode',
  'shardSplitThresholdBytes', 'shardSplitStrategy', 'reduceSingleLeafToSelf'
])

const READ_BUFFER = 1 << 20 // bytes per read of a large file
const SMALL_FILE = 64 << 10 // files up to this size are read whole, once per process

/** The smallest blockstore the importer needs (interface-blockstore@7: put/get/has). */
class MemoryBlockstore {
  constructor () {
    this.blocks = new Map()
  }

  async put (cid, bytes) {
    const key = cid.toString()
    if (!this.blocks.has(key)) {
      this.blocks.set(key, bytes)
    }
    return cid
  }

  * get (cid) {
    const bytes = this.blocks.get(cid.toString())
    if (bytes === undefined) {
      throw Object.assign(new Error(`block not found: ${cid}`), { name: 'NotFoundError' })
    }
    yield bytes
  }

  async has (cid) {
    return this.blocks.has(cid.toString())
  }
}

function importerOptions (opts = {}) {
  for (const key of Object.keys(opts)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new Error(`unknown importer option ${JSON.stringify(key)}`)
    }
  }
  const out = {}
  for (const key of ['profile', 'cidVersion', 'rawLeaves', 'shardSplitThresholdBytes',
    'shardSplitStrategy', 'reduceSingleLeafToSelf']) {
    if (opts[key] !== undefined && opts[key] !== null) {
      out[key] = opts[key]
    }
  }
  if (opts.chunkSize !== undefined && opts.chunkSize !== null) {
    out.chunker = fixedSize({ chunkSize: opts.chunkSize })
  }
  if (opts.maxChildrenPerNode !== undefined && opts.maxChildrenPerNode !== null) {
    out.layout = balanced({ maxChildrenPerNode: opts.maxChildrenPerNode })
  }
  return out
}

const smallFiles = new Map()

/** A file's content: small files read whole (and once), larger ones streamed in pieces. */
function fileContent (file) {
  const cached = smallFiles.get(file)
  if (cached !== undefined) {
    return cached
  }
  const size = statSync(file).size
  if (size <= SMALL_FILE) {
    const bytes = readFileSync(file)
    smallFiles.set(file, bytes)
    return bytes
  }
  // opened lazily, when the importer pulls this candidate
  return createReadStream(file, { highWaterMark: Math.min(READ_BUFFER, size) })
}

function * candidates (entries) {
  for (const entry of entries) {
    if (typeof entry.path !== 'string') {
      throw new Error(`entry without a path: ${JSON.stringify(entry)}`)
    }
    if (entry.file === undefined || entry.file === null) {
      yield { path: entry.path } // a directory
    } else {
      yield { path: entry.path, content: fileContent(entry.file) }
    }
  }
}

async function run (request) {
  const blockstore = new MemoryBlockstore()
  const results = []
  for await (const entry of importer(candidates(request.entries ?? []), blockstore, importerOptions(request.options))) {
    results.push({ path: entry.path ?? null, cid: entry.cid.toString(), size: entry.size.toString() })
  }
  return { results, blocks: [...blockstore.blocks.keys()] }
}

async function readStdin () {
  const parts = []
  for await (const part of process.stdin) {
    parts.push(part)
  }
  return Buffer.concat(parts).toString('utf8')
}

async function main () {
  const request = JSON.parse(await readStdin())
  let answer
  if (Array.isArray(request.batch)) {
    const batch = []
    for (const one of request.batch) {
      batch.push(await run(one))
    }
    answer = { batch }
  } else {
    answer = await run(request)
  }
  process.stdout.write(JSON.stringify(answer))
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`)
  process.exitCode = 1
})
