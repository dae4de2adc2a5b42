-- Lua side of the kernel's builtins. `K` is a table of Rust functions given by the kernel:
-- K.write(stream, text), K.display(bundle), K.clear_output(wait), K.page(text).
local K = ...
local tostring, select, type, concat = tostring, select, type, table.concat

local function join(sep, ...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return concat(parts, sep)
end

local docs = {}

function print(...) K.write("stdout", join("\t", ...) .. "\n") end
docs[print] = "print(...): writes its arguments, separated by tabs, to stdout"

function eprint(...) K.write("stderr", join("\t", ...) .. "\n") end
docs[eprint] = "eprint(...): writes its arguments, separated by tabs, to stderr"

local function writer(stream)
  local file = {}
  function file:write(...) K.write(stream, join("", ...)); return self end
  function file:flush() return self end
  function file:lines() return function() return nil end end
  function file:close() return true end
  return setmetatable(file, {__name = "kernel " .. stream, __tostring = function() return "file (" .. stream .. ")" end})
end
io.stdout = writer("stdout")
io.stderr = writer("stderr")
function io.write(...) K.write("stdout", join("", ...)); return io.stdout end
docs[io.write] = "io.write(...): writes its arguments to stdout"

function display(value)
  K.display({["text/plain"] = tostring(value)})
end
docs[display] = "display(value): shows value as an output of the cell"

function display_html(html)
  K.display({["text/html"] = tostring(html), ["text/plain"] = tostring(html)})
end
docs[display_html] = "display_html(s): shows s as HTML"

function display_markdown(md)
  K.display({["text/markdown"] = tostring(md), ["text/plain"] = tostring(md)})
end
docs[display_markdown] = "display_markdown(s): shows s as Markdown"

function display_json(value)
  K.display_json(value)
end
docs[display_json] = "display_json(table): shows a table as JSON"

function clear_output(wait)
  K.clear_output(wait and true or false)
end
docs[clear_output] = "clear_output(wait): clears the cell's output (with wait: when the next output arrives)"

sleep = K.sleep
docs[sleep] = "sleep(seconds): pauses the cell; other cells run meanwhile"

input = K.input
docs[input] = "input(prompt): asks the front-end for a line of text and returns it"

local function describe(value, name)
  name = name or "?"
  local t = type(value)
  if t == "function" then
    if docs[value] then return docs[value] end
    local what, src, line, nparams, first = K.function_info(value)
    if what == "Lua" or what == "main" then
      local signature = first or string.format("function %s (%d parameters)", name, nparams)
      return string.format("%s\ndefined at %s:%d", signature, src, line)
    end
    return "builtin function " .. name
  elseif t == "table" then
    local keys = {}
    for k in pairs(value) do
      if type(k) == "string" then keys[#keys + 1] = k end
    end
    table.sort(keys)
    local shown = {}
    for i = 1, math.min(#keys, 20) do shown[i] = keys[i] end
    local more = #keys > 20 and ", ..." or ""
    return string.format("%s: table with %d fields: %s%s", name, #keys, concat(shown, ", "), more)
  end
  return string.format("%s: %s = %s", name, t, tostring(value))
end

function help(value)
  K.page(describe(value, nil))
end
docs[help] = "help(value): shows what value is in the pager"

-- Builtin libraries: a doc line per function.
for _, lib in ipairs({"string", "table", "math", "os", "io", "coroutine", "utf8", "debug"}) do
  local t = _G[lib]
  if type(t) == "table" then
    for k, v in pairs(t) do
      if type(v) == "function" and not docs[v] then
        docs[v] = string.format("%s.%s(...): Lua standard library function", lib, k)
      end
    end
  end
end
for _, k in ipairs({"assert", "collectgarbage", "dofile", "error", "getmetatable", "ipairs",
    "load", "loadfile", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen", "rawset",
    "require", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall"}) do
  if _G[k] then docs[_G[k]] = k .. "(...): Lua base function" end
end

-- Runs a cell's function, returning true and its values, or false, the error and a traceback.
local function run(f)
  local traceback
  local results = table.pack(xpcall(f, function(e)
    traceback = K.traceback(tostring(e))
    return e
  end))
  if results[1] then return table.unpack(results, 1, results.n) end
  return false, tostring(results[2]), traceback
end

return run, describe
