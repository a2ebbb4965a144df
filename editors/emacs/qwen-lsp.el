;;; qwen-lsp.el --- Qwen completions through eglot  -*- lexical-binding: t; -*-

;; Load it from your init file:  (load "/path/to/editors/emacs/qwen-lsp.el")
;;
;; Emacs 29 and newer have eglot built in; on Emacs 28 install it first
;; (M-x package-install RET eglot RET, or Debian's elpa-eglot).
;;
;; Eglot runs one language server per buffer, so qwen-lsp runs beside a
;; mode's usual server through the rassumfrassum multiplexer ("pip install
;; rassumfrassum" gives the `rass' command), which merges the completions of
;; both.  qwen-lsp reads the API key from $DASHSCOPE_API_KEY and a custom
;; endpoint from $DASHSCOPE_BASE_URL; other settings go in `qwen-lsp-settings'.

;;; Code:

(require 'eglot)

(defvar qwen-lsp-settings '(:model "qwen2.5-coder-32b-instruct" :debounceMs 150)
  "Settings for qwen-lsp (its section of eglot's workspace configuration).")

(defvar qwen-lsp-main-servers
  '(((python-mode python-ts-mode) "pylsp")
    ((c-mode c-ts-mode c++-mode c++-ts-mode) "clangd")
    ((go-mode go-ts-mode) "gopls")
    ((rust-mode rust-ts-mode) "rust-analyzer")
    ((js-mode js-ts-mode typescript-ts-mode tsx-ts-mode)
     "typescript-language-server" "--stdio")
    ((sh-mode bash-ts-mode)))
  "Major modes that get qwen-lsp, each with the server command it runs beside.
A list of modes with no command runs qwen-lsp alone.  Set this before loading
this file.")

(defun qwen-lsp-contact (&rest main-server)
  "The `eglot-server-programs' command: qwen-lsp, beside MAIN-SERVER if any."
  (if main-server
      `("rass" "--" ,@main-server "--" "qwen-lsp")
    '("qwen-lsp")))

(dolist (entry qwen-lsp-main-servers)
  (add-to-list 'eglot-server-programs
               (cons (car entry) (apply #'qwen-lsp-contact (cdr entry))))
  (dolist (mode (car entry))
    (add-hook (intern (format "%s-hook" mode)) #'eglot-ensure)))

;; Eglot sends this in workspace/didChangeConfiguration when it connects:
;; qwen-lsp takes its "qwen-lsp" section, the other server its own.
(setq-default eglot-workspace-configuration
              (plist-put (copy-sequence
                          (default-value 'eglot-workspace-configuration))
                         :qwen-lsp qwen-lsp-settings))

;; Emacs 30: show the first completion as ghost text while typing; TAB
;; accepts it.
(when (fboundp 'global-completion-preview-mode)
  (global-completion-preview-mode 1))

(provide 'qwen-lsp)
;;; qwen-lsp.el ends here
