-- Run first by one pandoc call of a build (analysis.render.render, `on_read`): writes the
-- document as pandoc's reader gave it, before any other filter, as pandoc's JSON to the file
-- named by ANALYSIS_SOURCE_AST. The word counts are taken from it, so no pandoc process of
-- its own has to read the source a second time. Changes nothing.
function Pandoc(doc)
  local path = os.getenv("ANALYSIS_SOURCE_AST")
  if path == nil or path == "" then return nil end
  local f = assert(io.open(path, "w"))
  f:write(pandoc.write(doc, "json"))
  f:close()
  return nil
end
