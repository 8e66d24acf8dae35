-- How many proteins the selection drew, and how many it drew from (temp.embed_selected, embed_select.sql).
SELECT count(*), coalesce(max(candidates), 0) FROM embed_selected
