// Preload for bench/scan when /usr/bin/time is missing: prints the process's peak RSS and CPU time at exit.
// Usage: node --import ./bench/lib/scan-rss.mjs bin/kiln.js ...
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(
    `KILN_BENCH_MAXRSS_KB=${u.maxRSS}\nKILN_BENCH_CPU_MS=${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}\n`,
  );
});
