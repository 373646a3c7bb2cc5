-- wrk script for `make bench`: logged-in residents reading free times or booking.
--
--   wrk ... -s bench/wrk.lua <url> -- <mode> <data file> <threads>
--
-- mode "get":  each line of the data file is "<session> <csrf> <path>"; a random line per request.
-- mode "book": each line is "<session> <csrf> <slot id>"; thread t takes lines t, t + threads, …,
--              each exactly once, so every booking is a distinct resident on a distinct slot.
-- done() prints one line, "BENCH <json>", with the counts the harness reads.

local threads = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in line:gmatch("%S+") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  mode, step = args[1], tonumber(args[3])
  lines = {}
  for line in io.lines(args[2]) do
    table.insert(lines, split(line))
  end
  nxt = number + 1
  statuses = {}
  exhausted = 0
  math.randomseed(number * 7919 + os.time())
end

local function headers(fields)
  return {
    ["Cookie"] = "sessionid=" .. fields[1] .. "; csrftoken=" .. fields[2],
    ["X-CSRFToken"] = fields[2],
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
  }
end

function request()
  if mode == "get" then
    local fields = lines[math.random(#lines)]
    return wrk.format("GET", fields[3], headers(fields))
  end
  local fields = lines[nxt]
  if fields == nil then
    -- Out of residents: count it; the harness sizes the file so this does not happen.
    exhausted = exhausted + 1
    fields = lines[number + 1]
  end
  nxt = nxt + step
  return wrk.format("POST", "/api/v1/bookings/", headers(fields), '{"slot": ' .. fields[3] .. "}")
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 429 or status == 503 then
    if headers["Retry-After"] == nil then
      statuses["no_retry_after"] = (statuses["no_retry_after"] or 0) + 1
    end
  end
end

function done(summary, latency, requests)
  local counts, exhausted_total = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + n
    end
    exhausted_total = exhausted_total + thread:get("exhausted")
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"duration_us": %d, "requests": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "exhausted": %d, "statuses": {%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, errors.connect + errors.read + errors.write, errors.timeout, exhausted_total,
    table.concat(parts, ", ")))
end
