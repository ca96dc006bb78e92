-- Cross-references for the embedded (pandoc) engine, the subset of Quarto's syntax we use:
-- tables captioned `: Caption {#tbl-x}` and figures `![Caption](f.svg){#fig-x}` are numbered
-- in document order, their captions get "Table N." / "Figure N.", and `@tbl-x` / `@fig-x`
-- become "Table N" / "Figure N". Runs before citeproc so that these are not taken for
-- citations. Quarto does the same itself, so the .qmd stays valid Quarto.

local numbers = {}
local counts = { tbl = 0, fig = 0 }
local names = { tbl = "Table", fig = "Figure" }

local function kind_of(id)
  if id == nil then return nil end
  local k = id:match("^(%a+)%-")
  if k and names[k] then return k end
  return nil
end

local function register(id)
  local k = kind_of(id)
  if not k or numbers[id] then return nil end
  counts[k] = counts[k] + 1
  numbers[id] = counts[k]
  return k
end

local function prefix_caption(caption_blocks, k, id)
  local label = pandoc.Strong({ pandoc.Str(names[k] .. "\u{a0}" .. numbers[id] .. ".") })
  if #caption_blocks == 0 then
    return { pandoc.Plain({ label }) }
  end
  local first = caption_blocks[1]
  if first.content then
    first.content:insert(1, pandoc.Space())
    first.content:insert(1, label)
  end
  return caption_blocks
end

local function number_blocks(doc)
  doc.blocks = doc.blocks:walk({
    Table = function(t)
      local k = register(t.identifier)
      if k then t.caption.long = prefix_caption(t.caption.long, k, t.identifier) end
      return t
    end,
    Figure = function(f)
      local k = register(f.identifier)
      if k then f.caption.long = prefix_caption(f.caption.long, k, f.identifier) end
      return f
    end,
  })
  return doc
end

local missing = {}

local function resolve_cites(doc)
  doc.blocks = doc.blocks:walk({
    Cite = function(c)
      local out = pandoc.Inlines({})
      local rest = {}
      for _, citation in ipairs(c.citations) do
        local k = kind_of(citation.id)
        if k then
          if #rest > 0 then
            out:insert(pandoc.Cite(pandoc.Inlines({}), rest)); rest = {}
          end
          local n = numbers[citation.id]
          if not n then table.insert(missing, citation.id); n = "??" end
          local text = names[k] .. "\u{a0}" .. n
          if citation.mode == "SuppressAuthor" then text = tostring(n) end
          if #out > 0 then out:insert(pandoc.Space()) end
          out:insert(pandoc.Link(text, "#" .. citation.id))
        else
          table.insert(rest, citation)
        end
      end
      if #rest == #c.citations then return nil end
      if #rest > 0 then out:insert(pandoc.Cite(pandoc.Inlines({}), rest)) end
      return out
    end,
  })
  if #missing > 0 then
    error("unresolved cross-reference(s): " .. table.concat(missing, ", "))
  end
  return doc
end

return { { Pandoc = number_blocks }, { Pandoc = resolve_cites } }
