// Preloaded into the JS IPFS node (NODE_OPTIONS=--require <abs path>/polyfill.cjs, see tests/ipfsnode.py):
// some of ipfs@0.66.1's dependencies call Promise.withResolvers, which Node 20 lacks (`jsipfs init` fails).
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
