-- Run first by one pandoc call of a build (analysis.render.render, `on_read`): writes the
-- document as pandoc's reader gave it, before any other filter, as pandoc's JSON to the file
-- named by ANALYSIS_SOURCE_AST. The word counts are taken from it, so no pandoc process of
-- its own has to read the source a second time. Changes nothing.
function Pandoc(doc)
  local path = os.getenv("ANALYSIS_SOURCE_AST")
  if path == nil or path == "" then return nil end
  -- written whole under another name, then renamed: the build reads it as soon as it is there
  local part = path .. ".part"
  local f = assert(io.open(part, "w"))
  f:write(pandoc.write(doc, "json"))
  f:close()
  assert(os.rename(part, path))
  return nil
end
