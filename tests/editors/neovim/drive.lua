-- Drives a headless Neovim for tests/editors/test_neovim.py, after the config under test ran.
--
-- Opens $QWEN_NVIM_FILE, waits for qwen-lsp to attach, types $QWEN_NVIM_KEYS (normal-mode keys
-- that enter insert mode and ask for a completion), waits until the suggestion is shown
-- ($QWEN_NVIM_SHOWN: "menu" for the completion popup, "ghost" for inline ghost text), types
-- $QWEN_NVIM_ACCEPT, and writes {shown, buffer, error} as JSON to $QWEN_NVIM_RESULT.
-- Keys go through the typeahead like a user's: insert mode stays active while the server answers.
-- The whole run is bounded by $QWEN_NVIM_TIMEOUT_MS.

local timeout = tonumber(os.getenv('QWEN_NVIM_TIMEOUT_MS'))
local result = { error = 'timed out waiting for qwen-lsp to attach' }
local finished = false

local function finish()
  if finished then
    return
  end
  finished = true
  result.buffer = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local out = assert(io.open(os.getenv('QWEN_NVIM_RESULT'), 'w'))
  out:write(vim.fn.json_encode(result))
  out:close()
  vim.cmd('qall!')
end

local function termcodes(keys)
  return vim.api.nvim_replace_termcodes(keys, true, false, true)
end

local function attached()
  for _, client in pairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.buf_get_clients(0)) do
    if client.name == 'qwen_lsp' and client.initialized then
      return true
    end
  end
  return false
end

-- The suggestion on screen, or nil.
local shown = ({
  menu = function()
    local item = vim.fn.complete_info({ 'items' }).items[1]
    return item and item.word
  end,
  ghost = function()
    local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
    local mark = ns and vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })[1]
    if not mark then
      return nil
    end
    local text = {}
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      text[#text + 1] = chunk[1]
    end
    return table.concat(text)
  end,
})[os.getenv('QWEN_NVIM_SHOWN')]

-- Typed after the accept key: once it runs, whatever accepting scheduled has run too.
vim.keymap.set('i', '<Plug>(qwen-test-accepted)', function()
  vim.schedule(function()
    result.error = nil
    finish()
  end)
end)

vim.defer_fn(finish, timeout)
vim.cmd('edit ' .. vim.fn.fnameescape(os.getenv('QWEN_NVIM_FILE')))
if not vim.wait(timeout, attached, 20) then
  return
end

result.error = 'no suggestion was shown'
local poll = vim.loop.new_timer()
poll:start(20, 20, vim.schedule_wrap(function()
  result.shown = shown()
  if result.shown ~= nil then
    poll:stop()
    result.error = 'the suggestion was not accepted'
    vim.api.nvim_feedkeys(termcodes(os.getenv('QWEN_NVIM_ACCEPT') .. '<Plug>(qwen-test-accepted)'), 'm', false)
  end
end))
vim.cmd('normal! G$')
vim.api.nvim_feedkeys(termcodes(os.getenv('QWEN_NVIM_KEYS')), 'n', false)
