;;; drive.el --- drives Emacs in batch mode for tests/editors/test_emacs.py  -*- lexical-binding: t; -*-

;; Run after the config under test was loaded.  Visits $QWEN_EMACS_FILE (its major mode's
;; hook starts eglot), waits for eglot to connect, types $QWEN_EMACS_TYPE at the end of the
;; buffer, runs `completion-at-point' as M-TAB would, and writes {server, buffer} as JSON to
;; $QWEN_EMACS_RESULT.  Waiting for eglot is bounded by $QWEN_EMACS_TIMEOUT seconds (the
;; completion request by `eglot-request-timeout'); a failure exits with status 255.

(require 'json)

(let ((deadline (+ (float-time) (string-to-number (getenv "QWEN_EMACS_TIMEOUT")))))
  (find-file (getenv "QWEN_EMACS_FILE"))
  ;; `eglot-ensure' connects from `post-command-hook', which batch mode never runs by itself.
  (run-hooks 'post-command-hook)
  (while (not (and (eglot-current-server) eglot--managed-mode))
    (when (> (float-time) deadline)
      (error "eglot did not connect"))
    (accept-process-output nil 0.05))
  (goto-char (point-max))
  (insert (getenv "QWEN_EMACS_TYPE"))
  (completion-at-point)
  (let ((result (list :server (plist-get (eglot--server-info (eglot-current-server)) :name)
                      :buffer (buffer-string))))
    (with-temp-file (getenv "QWEN_EMACS_RESULT")
      (insert (json-encode result)))))
;;; drive.el ends here
