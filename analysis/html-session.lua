-- The preview's pandoc, kept running (`pandoc lua`, started by analysis/htmlsession.py): it
-- renders the manuscript's HTML as `pandoc` on the command line would, but keeps what it has
-- read, so that after an edit only the changed parts of the source are read again.
--
-- One JSON request per line on stdin, one JSON reply per line on stdout. A request gives the
-- source cut into chunks (before top-level headings; htmlsession.py decides where it is safe),
-- the tags of the chunk readings the caller already holds (`have`), and the steps of the
-- command line it stands for: reader, metadata, heading shift, filters and citeproc in their
-- order, writer options and variables. The reply is one of
--   {"ok": true, "chunks": [{"tag": T, "json": J}, ...]}  each chunk's tag, and pandoc's JSON
--                                    of it unless the caller has that tag; with "why" when
--                                    the chunks could not stand for the whole, which was
--                                    then read as one chunk
--   {"ok": false, "why": "..."}      an error or a warning: the caller runs the command line,
--                                    whose message is the one an author should see
-- Nothing is kept but the readings of the last request's chunks.

local cache = {}  -- "heading ids before it \0 chunk text" -> what read_chunk gives

-- Stand-ins around a chunk, dropped after reading (see read_chunk). Their text cannot occur
-- in a manuscript's headings or citations.
local STAND_IN = "# Xqz%dXqz {#%s}\n\n"
local LAST = "XqzEndOfChunkXqz"

local function warnings_since(n)
  local out = {}
  for i = n + 1, #PANDOC_STATE.log do
    local j = pandoc.json.decode(pandoc.json.encode(PANDOC_STATE.log[i]), false)
    if j.verbosity ~= "INFO" then out[#out + 1] = j.pretty end
  end
  return out
end

-- True if no text of `blocks` holds a "[" (citations aside): a link, note or heading
-- reference its chunk alone could not resolve is left as text.
local function no_bracket(blocks)
  local plain = true
  blocks:walk({
    traverse = "topdown",
    Cite = function() return nil, false end,  -- its text is the citation as written
    Str = function(s) if s.text:find("[", 1, true) then plain = false end end,
  })
  return plain
end

-- A chunk as pandoc reads it in the whole source, which differs from its reading alone in
-- two counters the reader keeps:
--  * the identifiers of headings: an automatic one is made unique among those of the headings
--    before it (a second "Patients" becomes `patients-1`); so the chunk is read after stand-in
--    headings holding those identifiers;
--  * the note number of citations (each citation and each note counts one); so a stand-in
--    citation after the chunk tells how many the chunk counts, and `offset` adds those of the
--    chunks before it.
-- Both stand-ins are dropped. A reading that is not as expected gives nil: the whole is read.
local function read_chunk(text, before, format, ropts)
  local lead = {}
  for n, id in ipairs(before) do lead[n] = STAND_IN:format(n, id) end
  local tail = (text:sub(-1) == "\n" and "" or "\n") .. "\n[@" .. LAST .. "]\n"
  local doc = pandoc.read(table.concat(lead) .. text .. tail, format, ropts)
  local last = doc.blocks[#doc.blocks]
  if #doc.blocks < #before + 1 or last.t ~= "Para" or #last.content ~= 1 or last.content[1].t ~= "Cite"
      or last.content[1].citations[1].id ~= LAST then
    return nil
  end
  local blocks = pandoc.Blocks({})
  for n = 1, #before do
    if doc.blocks[n].t ~= "Header" or doc.blocks[n].identifier ~= before[n] then return nil end
  end
  for n = #before + 1, #doc.blocks - 1 do blocks:insert(doc.blocks[n]) end
  local ids, names, links, cites = {}, {}, {}, false
  blocks:walk({
    Header = function(h)
      ids[#ids + 1] = h.identifier
      names[#names + 1] = pandoc.text.lower(pandoc.utils.stringify(h.content)):gsub("%s+", " ")  -- as pandoc keys it
    end,
    Link = function(l) if l.target:sub(1, 1) == "#" then links[#links + 1] = l.target:sub(2) end end,
    Cite = function() cites = true end,
  })
  local plain = no_bracket(blocks)
  if not plain then
    -- escaped brackets ("\[") are text too: read again without them, to see whether any other is
    local unescaped = text:gsub("\\(.)", function(c) if c == "[" then return "\u{E000}\u{E000}" end end)
    plain = no_bracket(pandoc.read(unescaped, format, ropts).blocks)
  end
  return {
    blocks = blocks, meta = doc.meta, has_meta = next(doc.meta) ~= nil, ids = ids, names = names, links = links,
    plain = plain,
    cites = cites, counted = last.content[1].citations[1].note_num - 1, shifted = {},
  }
end

-- The chunk's blocks with the note numbers of its citations moved on by `offset`.
local function at_offset(entry, offset)
  if offset == 0 or not entry.cites then return entry.blocks end
  if entry.shifted[1] ~= offset then
    local blocks = entry.blocks:walk({
      Cite = function(c)
        local list = c.citations
        for _, citation in ipairs(list) do citation.note_num = citation.note_num + offset end
        c.citations = list
        return c
      end,
    })
    entry.shifted = { offset, blocks }
  end
  return entry.shifted[2]
end

-- A filter file as pandoc runs it: what it returns (a filter or a list of them), or else the
-- functions it defines; in an environment of its own, so nothing is carried between builds.
local function load_filters(path, globals)
  local env = setmetatable({}, { __index = _G })
  for k, v in pairs(globals) do env[k] = v end
  env.PANDOC_SCRIPT_FILE = path
  local ret = assert(loadfile(path, "t", env))()
  if ret == nil then
    local filter = {}
    for k, v in pairs(env) do
      if type(v) == "function" or k == "traverse" then filter[k] = v end
    end
    return { filter }
  end
  if type(ret) == "table" and ret[1] == nil and next(ret) ~= nil then return { ret } end
  return ret
end

local function meta_value(text)
  -- as `--metadata KEY=VALUE` reads VALUE
  if text == "true" or text == "True" or text == "TRUE" then return true end
  if text == "false" or text == "False" or text == "FALSE" then return false end
  return pandoc.MetaString(text)
end

-- A reference to a heading by its name ("[Patients]") goes, in the whole source, to the first
-- heading of that name; read in its own chunk, to the one in that chunk. So a link to a heading
-- whose name another heading has makes the whole be read. Why, or nil.
local function ambiguous_link(entries)
  local count, ids = {}, {}
  for _, entry in ipairs(entries) do
    for k, name in ipairs(entry.names) do
      count[name] = (count[name] or 0) + 1
      ids[entry.ids[k]] = name
    end
  end
  for n, entry in ipairs(entries) do
    for _, target in ipairs(entry.links) do
      if ids[target] and count[ids[target]] > 1 then
        return ("chunk %d: a link to heading %q, whose name another heading has"):format(n, target)
      end
    end
  end
  return nil
end

-- The chunks read (from the cache where they are), each with its part of the reply; or, if
-- the chunks cannot stand for the whole, the whole source read as one, and why.
local function read_all(req, ropts)
  local have = {}
  for _, tag in ipairs(req.have) do have[tag] = true end
  local kept, entries, ids, before, parts = {}, {}, {}, {}, {}
  local offset = 0
  local function part(key, entry, blocks)
    local tag = pandoc.utils.sha1(key .. "\0" .. offset)
    local json = not have[tag] and pandoc.write(pandoc.Pandoc(blocks, entry.meta), "json") or nil
    return { tag = tag, json = json }
  end
  local why = nil
  for n, text in ipairs(req.chunks) do
    local key = table.concat(before, " ") .. "\0" .. text
    local entry = cache[key] or read_chunk(text, before, req.reader, ropts)
    if entry == nil then why = ("chunk %d: not read as expected"):format(n); break end
    kept[key] = entry
    if not entry.plain and #req.chunks > 1 then why = ("chunk %d: an unresolved ["):format(n); break end
    if n > 1 and entry.has_meta then why = ("chunk %d: metadata"):format(n); break end
    for _, id in ipairs(entry.ids) do
      -- an identifier a stand-in heading cannot hold, or a duplicate (letters beyond ASCII
      -- are allowed: read_chunk checks that the stand-ins gave the identifiers they hold)
      if id ~= "" and (ids[id] or not id:match("^[%w_%-%.:\128-\255]+$")) then
        why = ("chunk %d: heading identifier %q"):format(n, id)
      end
      if id ~= "" then ids[id], before[#before + 1] = true, id end
    end
    if why then break end
    local blocks = at_offset(entry, offset)
    entries[n] = { blocks = blocks, meta = entry.meta, ids = entry.ids, names = entry.names, links = entry.links }
    parts[n] = part(key, entry, blocks)
    offset = offset + entry.counted
  end
  if not why then why = ambiguous_link(entries) end
  if why then
    local text = table.concat(req.chunks)
    local key = "whole\0" .. text
    local entry = cache[key]
    if entry == nil then
      local doc = pandoc.read(text, req.reader, ropts)
      entry = { blocks = doc.blocks, meta = doc.meta }
    end
    kept[key] = entry
    offset = 0
    entries, parts = { entry }, { part(key, entry, entry.blocks) }
  end
  cache = kept
  return entries, parts, why
end

local function render(req, logged)
  local ropts = pandoc.ReaderOptions({ columns = req.columns, standalone = true })
  local entries, parts, why = read_all(req, ropts)
  local blocks = pandoc.Blocks({})
  for _, entry in ipairs(entries) do blocks:extend(entry.blocks) end
  local doc = pandoc.Pandoc(blocks, entries[1] and entries[1].meta or {})
  for k, v in pairs(req.metadata) do doc.meta[k] = meta_value(v) end
  if req.shift > 0 then
    doc.blocks = doc.blocks:walk({ Header = function(h) h.level = h.level + req.shift; return h end })
  end
  local template = pandoc.template.compile(pandoc.template.default(req.writer))
  local wopts = pandoc.WriterOptions({
    template = template, columns = req.columns, wrap_text = req.wrap, section_divs = req.section_divs,
    variables = req.variables,
  })
  local globals = { FORMAT = req.writer, PANDOC_READER_OPTIONS = ropts, PANDOC_WRITER_OPTIONS = wopts }
  FORMAT = req.writer
  pandoc.system.with_working_directory(req.cwd, function()
    for _, step in ipairs(req.steps) do
      if step == "citeproc" then
        doc = pandoc.utils.citeproc(doc)
      else
        for _, filter in ipairs(load_filters(step, globals)) do doc = doc:walk(filter) end
      end
    end
  end)
  local html = pandoc.write(doc, req.writer, wopts)
  -- a warning is the command line's to give (the build refuses it): nothing is written
  local warned = warnings_since(logged)
  if #warned > 0 then return { ok = false, why = table.concat(warned, "\n") } end
  local f = assert(io.open(req.output, "wb"))
  f:write(html)
  f:close()
  return { ok = true, chunks = parts, why = why }
end

for line in io.lines() do
  local logged = #PANDOC_STATE.log
  local ok, reply = pcall(render, pandoc.json.decode(line, false), logged)
  if not ok then reply = { ok = false, why = tostring(reply) } end
  if reply.ok then  -- the chunks' JSON is spliced in as it is, not encoded again as a string
    local items = {}
    for n, part in ipairs(reply.chunks) do
      items[n] = ('{"tag":"%s"%s}'):format(part.tag, part.json and (',"json":' .. part.json) or "")
    end
    local why = reply.why and (',"why":' .. pandoc.json.encode(reply.why)) or ""
    io.write('{"ok":true', why, ',"chunks":[', table.concat(items, ","), "]}\n")
  else
    io.write(pandoc.json.encode(reply), "\n")
  end
  io.flush()
end
