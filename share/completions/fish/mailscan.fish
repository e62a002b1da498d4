function __mailscan_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailscan_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __mailscan_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailscan_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __mailscan_parse_tokens -S
    set -l unparsed_tokens (__mailscan_tokens -pc)
    switch $unparsed_tokens[1]
    case 'mailscan'
        __mailscan_parse_subcommand -r 1 'mbox-dialect=' 'as-of=' 'deleted' 'since=' 'until=' 'date-source=' 'from=+' 'to=+' 'subject=+' 'header=+' 'message-id=+' 'message-ids=' 'folder=+' 'flag=+' 'no-flag=+' 'keyword=+' 'min-size=' 'max-size=' 'regex' 'json' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __mailscan_parse_subcommand -r 1 'version'
        end
    end
end

function __mailscan_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __mailscan_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __mailscan_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __mailscan_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__mailscan_tokens -p)
    if test -z "$(__mailscan_tokens -t)"
        set -l index (count (__mailscan_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'mailscan' -f
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" mbox-dialect' -l 'mbox-dialect' -d 'How mbox bodies are quoted (default: as the writer is evident, else mboxrd).' -rfka 'auto mboxo mboxrd mboxcl2'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" as-of' -l 'as-of' -d 'The mailbox as it was at DATE: the state of the last bundle created at or before it.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" deleted' -l 'deleted' -d 'Messages an earlier state held and the chosen state (the newest, or --as-of\'s) does not: what was deleted. Combines with every selection option.'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" since' -l 'since' -d 'Messages dated on or after DATE.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" until' -l 'until' -d 'Messages dated before DATE (exclusive).' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" date-source' -l 'date-source' -d 'Which date --since/--until compare: header (the Date header, else the received time) or received.' -rfka 'header received'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'from' -d 'Sender address or display name contains P (repeat for OR).' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'to' -d 'A To, Cc or Bcc recipient contains P.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'subject' -d 'The decoded Subject contains P.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'header' -d 'Any header: \'Name: P\' (the decoded value contains P).' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'message-id' -d 'This Message-ID, with or without <> (repeatable).' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" message-ids' -l 'message-ids' -d 'Read Message-IDs from FILE, one per line.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'folder' -d 'Folder path matches GLOB (INBOX for the top folder), e.g. \'Archive/*\'.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'flag' -d 'Has Maildir flag F (S seen, R replied, F flagged, T trashed, D draft, P passed); FS means both; repeat for OR.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'no-flag' -d 'Lacks Maildir flag F (FS: lacks both; repeat for OR).' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan"' -l 'keyword' -d 'Has IMAP keyword NAME ($Forwarded, $Junk, Wichtig; case aside); repeat for OR.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" min-size' -l 'min-size' -d 'At least N bytes (10k, 5M).' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" max-size' -l 'max-size' -d 'At most N bytes.' -rfka ''
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" regex' -l 'regex' -d 'Every P is a POSIX extended regular expression (case-insensitive) instead of a substring.'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" json' -l 'json' -d 'One JSON object per line, with folder, flags, date, received, from, to, subject, message_id, size, sha256; over a history also bundles (those holding its bytes), first_state and last_state (each bundle and created).'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" version' -l 'version' -d 'Show the version.'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_positional "mailscan" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'mailscan' -n '__mailscan_should_offer_completions_for_flags_or_options "mailscan help" version' -l 'version' -d 'Show the version.'
