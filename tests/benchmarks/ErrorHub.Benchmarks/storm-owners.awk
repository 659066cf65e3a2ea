# Owners of the methods a storm compiles or first calls, from a TieringLog report (storm-tiering.sh; docs/benchmarks.md, section 86).
# Input: a TieringLog report. Window: FROM <= t < TO (seconds since the app's start). Prints per owner: tier-0 compiles
# (QuickJitted: a first call that the calling thread compiles), other foreground compiles (optimized at first call),
# background recompiles (tier 1, instrumented, OSR), first calls of precompiled code (R2R), with JIT ms of each.
function owner(n) {
  if (n ~ /^ErrorHub\.Benchmarks/) return "app (benchmark's own)";
  if (n ~ /^ErrorHub\./) return "ErrorHub SDK";
  if (n ~ /^MessagePack/) return "MessagePack";
  if (n ~ /^System\.Diagnostics\.(StackTrace|StackFrame|StackFrameHelper)|^System\.Reflection\.(Metadata|PortableExecutable)|^System\.Diagnostics\.StackTrace/) return "stack trace + PDB";
  if (n ~ /^System\.Reflection|^System\.RuntimeType|^System\.Signature|^System\.RuntimeMethod/) return "reflection";
  if (n ~ /^System\.Threading\.Channels/) return "Channels";
  if (n ~ /^System\.Net\.Http|^System\.Net\.Security|^System\.Net\.Http\.Headers/) return "HttpClient";
  if (n ~ /^System\.IO\.Compression/) return "gzip";
  if (n ~ /^System\.Net\.Sockets|^System\.Net\./) return "sockets, System.Net";
  if (n ~ /^System\.Runtime\.CompilerServices\.(Async|ConfiguredValueTask|ValueTaskAwaiter|TaskAwaiter|ConfiguredTaskAwaitable|PoolingAsync)|^System\.Threading\.Tasks/) return "async machinery";
  if (n ~ /^System\.Text\.Json/) return "System.Text.Json";
  if (n ~ /^System\.Text/) return "System.Text";
  if (n ~ /^System\.Collections|^System\.Linq/) return "collections, LINQ";
  if (n ~ /^System\.Buffers|^System\.Span|^System\.ReadOnlySpan|^System\.Memory|^System\.MemoryExtensions|^System\.SpanHelpers|^System\.Runtime\.InteropServices/) return "buffers, spans";
  if (n ~ /^Microsoft\.AspNetCore/) return "ASP.NET Core";
  if (n ~ /^Microsoft\.Extensions\.Logging/) return "M.E.Logging";
  if (n ~ /^Microsoft\.Extensions/) return "M.E. other";
  if (n ~ /^System\.Threading/) return "threading";
  if (n ~ /^System\./) return "System other";
  return "other";
}
$1 >= FROM && $1 < TO && ($2 ~ /^MethodLoadVerbose/ || $2 == "R2RGetEntryPoint") {
  split($4, parts, "::"); o = owner(parts[1]);
  ms = $5; sub(/^jit-ms=/, "", ms); if (ms == "-") ms = 0;
  if ($2 == "R2RGetEntryPoint") k = "r2r"; else if ($3 == "tier3") k = "t0"; else if ($3 == "tier2" || $3 == "tier1") k = "opt"; else k = "bg";
  c[o, k]++; m[o, k] += ms; seen[o] = 1; tc[k]++; tm[k] += ms;
  if (k == "t0" || k == "opt") { fg[o] += ms }
}
END {
  printf "| owner | tier-0 compiles (ms) | optimized at first call (ms) | background recompiles (ms) | first calls of R2R code |\n|---|---:|---:|---:|---:|\n";
  n = 0; for (o in seen) order[++n] = o;
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (c[order[j], "t0"] + c[order[j], "opt"] + c[order[j], "r2r"] > c[order[i], "t0"] + c[order[i], "opt"] + c[order[i], "r2r"]) { t = order[i]; order[i] = order[j]; order[j] = t }
  for (i = 1; i <= n; i++) { o = order[i]; printf "| %s | %d (%.0f) | %d (%.0f) | %d (%.0f) | %d |\n", o, c[o,"t0"], m[o,"t0"], c[o,"opt"], m[o,"opt"], c[o,"bg"], m[o,"bg"], c[o,"r2r"] }
  printf "| all | %d (%.0f) | %d (%.0f) | %d (%.0f) | %d |\n", tc["t0"], tm["t0"], tc["opt"], tm["opt"], tc["bg"], tm["bg"], tc["r2r"];
}
