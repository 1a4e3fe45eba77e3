// Preloaded into the Astro child of `styleatlas site build` (node --import). Its stdin is a pipe
// from the styleatlas process that nobody writes to; the pipe ends only when that process is gone,
// however it went (kill -9 included), and then the child goes too instead of building on as an
// orphan. The stream is unref'd, so it never keeps a finished build alive.
process.stdin.on('end', () => process.exit(129));
process.stdin.on('data', () => {});
process.stdin.unref();
