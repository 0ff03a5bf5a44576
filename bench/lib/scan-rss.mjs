// Preload for bench/scan when /usr/bin/time is missing: prints the process's peak RSS at exit.
// Usage: node --import ./bench/lib/scan-rss.mjs bin/kiln.js ...
process.on('exit', () => {
  process.stderr.write(`KILN_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
