-- wrk script: POST a different, realistic Holm Security webhook body on every request.
--
-- Bodies alternate between a finished_scan and a ticket (asset + vulnerability nested, as
-- Holm sends them); every one carries the run's seed, the thread id and a per-thread counter
-- (in the scan's link, the ticket's number, host and run field), so no two bodies are equal
-- and deduplication cannot flatter the result. Scan names repeat as real ones do (128 of them).
--
-- Each thread counts 2xx and other answers in response() and keeps the event ids the
-- receiver returned ({"id": N}); done() prints one machine-readable line:
--   BENCH {json}
-- and, when IDS_FILE is set in the environment, writes every acknowledged id to that file
-- (one per line) so the caller can check that each one is in the database.
-- Use:  wrk -t1 -c64 -d10s --latency -s bench/post_unique.lua http://127.0.0.1:PORT/hooks/TOKEN

local threads = {}
local counter = 0
-- Different in every wrk run (warm-up and measured runs against one database must not repeat
-- each other's bodies either); the caller may pin it with BODY_SEED.
local seed = os.getenv("BODY_SEED") or string.format("%d%04d", os.time() % 100000, math.random(0, 9999))

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local names = { "Daily scan", "Weekly DMZ scan", "Web apps", "Cloud estate", "PCI external",
                "Office network", "Datacenter east", "Kubernetes nodes" }
local statuses = { "Completed", "Completed", "Completed", "Completed", "Stopped", "Failed" }
local vulns = {
  { "OpenSSH < 9.6 Terrapin prefix truncation", "CVE-2023-48795", 5.9 },
  { "Apache HTTP Server mod_proxy SSRF", "CVE-2021-40438", 9.0 },
  { "OpenSSL X.509 email address buffer overflow", "CVE-2022-3602", 7.5 },
  { "Microsoft Exchange ProxyShell RCE", "CVE-2021-34473", 9.8 },
  { "Log4j JNDI lookup remote code execution", "CVE-2021-44228", 10.0 },
  { "TLS 1.0 protocol enabled", nil, 4.3 },
}
local sevs = { "Low", "Medium", "High", "Critical" }

function init(args)
  tid = tid or 1
  ok, other, dups = 0, 0, 0
  ids = {}
  path = wrk.path
  headers = { ["Content-Type"] = "application/json" }
end

local function scan_body(n)
  local name = names[n % #names + 1]
  local status = statuses[n % #statuses + 1]
  local minute = n % 60
  return string.format(
    '{"finished_scan": {"name": "%s %d", "type": "network", "status": "%s", ' ..
    '"started": "2024-03-13 12:%02d", "finished": "2024-03-13 13:%02d", "duration": "00:%02d", ' ..
    '"critical_cnt": %d, "high_cnt": %d, "medium_cnt": %d, "low_cnt": %d, "errors": "", ' ..
    '"link": "https://sc.holmsecurity.com/scans/view/%s%d%d"}}',
    name, math.floor(n / #names) % 16 + 1, status, minute, minute, minute,
    n % 3, n % 7, n % 11, n % 23, seed, tid, n)
end

local function ticket_body(n)
  local v = vulns[n % #vulns + 1]
  local cve = v[2] and ('"' .. v[2] .. '"') or "null"
  local host = string.format("host-%d-%d", tid, n)
  return string.format(
    '{"ticket": {"number": %d%07d, "status": "Open", "severity": "%s", "due_date": "2024-04-13", ' ..
    '"teams": ["Platform"], "url": "https://sc.holmsecurity.com/tickets/%d%07d", ' ..
    '"asset": {"name": "%s", "hostname": "%s.corp.example", "ipv4": "10.%d.%d.%d", ' ..
    '"ipv6": null, "os": "Ubuntu 22.04", "type": "server", "tags": ["dmz", "linux"]}, ' ..
    '"vulnerability": {"name": "%s", "summary": "Finding %d on %s.", ' ..
    '"solution": "Upgrade to the latest version.", "cvss3": %.1f, "cve_id": %s, ' ..
    '"hid": "HID-2-1-%d"}, "run": "%s"}}',
    tid, n, sevs[n % #sevs + 1], tid, n, host, host,
    tid % 256, math.floor(n / 256) % 256, n % 256,
    v[1], n, host, v[3], cve, n, seed)
end

function request()
  counter = counter + 1
  local body
  if counter % 2 == 0 then body = scan_body(counter) else body = ticket_body(counter) end
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    local id = body:match('"id":%s*(%d+)')
    if id then ids[#ids + 1] = id end
    if body:find('"duplicate"', 1, true) then dups = dups + 1 end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local ok_total, other_total, dup_total = 0, 0, 0
  local out = os.getenv("IDS_FILE")
  local f = out and io.open(out, "w") or nil
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    other_total = other_total + t:get("other")
    dup_total = dup_total + t:get("dups")
    if f then
      local t_ids = t:get("ids")
      for _, id in ipairs(t_ids) do f:write(id, "\n") end
    end
  end
  if f then f:close() end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"duration_us": %d, "requests": %d, "ok": %d, "non2xx": %d, "duplicates": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.duration, summary.requests, ok_total, other_total, dup_total,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
