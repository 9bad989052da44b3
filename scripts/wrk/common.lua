-- Shared by the scripts of scripts/bench_peer.py: a clock, each thread's number, and done(),
-- which prints one line, "BENCH {json}", for the driver to read ("unexpected" is -1 unless the
-- script counts the answers it did not expect itself).
local ffi = require("ffi")
ffi.cdef("typedef struct { long sec, nsec; } bench_time; int clock_gettime(int, bench_time *);")
local now = ffi.new("bench_time")

function clock() -- seconds, CLOCK_MONOTONIC
  ffi.C.clock_gettime(1, now)
  return tonumber(now.sec) + tonumber(now.nsec) * 1e-9
end

local threads = {}

function setup(thread) -- in the main state, before each thread's init()
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

function done(summary, latency)
  local first, last, stopped, unexpected = math.huge, 0, 0, -1
  for _, thread in ipairs(threads) do
    local counted = thread:get("unexpected") -- scripts that check each answer count misses
    if counted then unexpected = math.max(unexpected, 0) + counted end
    first = math.min(first, thread:get("started") or math.huge)
    local at = thread:get("stopped")
    if at then stopped, last = stopped + 1, math.max(last, at) end
  end
  -- threads stop when their single-use inputs run out: the run lasted until the last one did
  local seconds = stopped == #threads and last - first or summary.duration / 1e6
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "seconds": %.4f, "p50_ms": %.3f, "p99_ms": %.3f, '
    .. '"non_2xx": %d, "socket_errors": %d, "unexpected": %d}\n', summary.requests, seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout, unexpected))
end
