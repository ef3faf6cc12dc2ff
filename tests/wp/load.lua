-- wrk script for tests/wp/test_wp_load.py. Each request asks the load page to mail a unique id, t<thread>-<n>.
-- When the run ends, the file named by RUST_MAIL_LOAD_IDS gets one line per answered request ("sent <id>" or
-- "failed <status> <body>") and one per thread ("issued t<thread> <n>": ids up to n were requested; those not
-- answered were still in flight when wrk stopped, and their mail may or may not have gone).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("prefix", "t" .. #threads)
end

function init(args)
  issued = 0
  answers = {}
end

function request()
  issued = issued + 1
  return wrk.format(nil, "/?rust_mail_load=" .. prefix .. "-" .. issued)
end

function response(status, headers, body)
  local id = body:match("^sent ([%w_-]+)")
  if status == 200 and id then
    answers[#answers + 1] = "sent " .. id
  else
    answers[#answers + 1] = "failed " .. status .. " " .. body:sub(1, 200):gsub("%s+", " ")
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("RUST_MAIL_LOAD_IDS"), "w"))
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("answers")) do
      out:write(line, "\n")
    end
    out:write("issued ", thread:get("prefix"), " ", thread:get("issued"), "\n")
  end
  out:close()
end
