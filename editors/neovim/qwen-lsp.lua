-- qwen-lsp for Neovim 0.12+: Qwen's suggestion as ghost text (vim.lsp.inline_completion).
-- Copy to ~/.config/nvim/plugin/qwen-lsp.lua (or `dofile()` it from init.lua).
--
-- <Tab> accepts the ghost text (and is a plain <Tab> when there is none).
-- The API key comes from $DASHSCOPE_API_KEY and a custom endpoint from $DASHSCOPE_BASE_URL,
-- so no secret is written into your config; init_options takes every other setting.

vim.lsp.config('qwen_lsp', {
  cmd = { 'qwen-lsp' },
  -- No `filetypes`: qwen-lsp attaches to every buffer that has a filetype, beside its usual servers.
  root_markers = { '.git' },
  init_options = {
    model = 'qwen2.5-coder-32b-instruct',
    debounceMs = 150,
  },
})
vim.lsp.enable('qwen_lsp')
vim.lsp.inline_completion.enable()

vim.keymap.set('i', '<Tab>', function()
  if not vim.lsp.inline_completion.get() then
    return '<Tab>'
  end
end, { expr = true, desc = 'Accept the Qwen inline completion' })
