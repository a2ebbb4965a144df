-- qwen-lsp for Neovim 0.8 to 0.11 (it also runs on 0.7): Qwen's suggestion as a completion item.
-- Copy to ~/.config/nvim/plugin/qwen-lsp.lua (or `dofile()` it from init.lua).
--
-- Neovim 0.11: the completion popup opens as you type (vim.lsp.completion, autotrigger).
-- Neovim 0.8-0.10: press <C-x><C-o> in insert mode (omnifunc); <C-y> accepts.
-- The API key comes from $DASHSCOPE_API_KEY and a custom endpoint from $DASHSCOPE_BASE_URL,
-- so no secret is written into your config; init_options takes every other setting.

local config = {
  name = 'qwen_lsp',
  cmd = { 'qwen-lsp' },
  init_options = {
    model = 'qwen2.5-coder-32b-instruct',
    debounceMs = 150,
  },
}

function config.on_attach(client, bufnr)
  if vim.lsp.completion then -- 0.11+
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = true })
  else
    vim.bo[bufnr].omnifunc = 'v:lua.vim.lsp.omnifunc'
  end
end

local function root_dir(bufnr)
  if vim.fs then -- 0.8+
    local git = vim.fs.find('.git', { upward = true, path = vim.fs.dirname(vim.api.nvim_buf_get_name(bufnr)) })[1]
    if git then
      return vim.fs.dirname(git)
    end
  end
  return vim.fn.getcwd()
end

local client_id -- Neovim 0.7 only: one client for every buffer

vim.api.nvim_create_autocmd('FileType', {
  group = vim.api.nvim_create_augroup('qwen_lsp', { clear = true }),
  desc = 'Attach qwen-lsp',
  callback = function(args)
    if vim.bo[args.buf].buftype ~= '' then
      return
    end
    config.root_dir = root_dir(args.buf)
    if vim.lsp.start then -- 0.8+: starts the client, or reuses it for the same root
      vim.lsp.start(config)
    else
      client_id = client_id or vim.lsp.start_client(config)
      vim.lsp.buf_attach_client(args.buf, client_id)
    end
  end,
})
