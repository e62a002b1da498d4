function __mailverify_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailverify_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __mailverify_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailverify_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __mailverify_parse_tokens -S
    set -l unparsed_tokens (__mailverify_tokens -pc)
    switch $unparsed_tokens[1]
    case 'mailverify'
        __mailverify_parse_subcommand -r 1 'mbox-dialect=' 'against=' 'json' 'threads=' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __mailverify_parse_subcommand -r 1 'version'
        end
    end
end

function __mailverify_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __mailverify_parse_subcommand -S -a positional_count
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

function __mailverify_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __mailverify_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__mailverify_tokens -p)
    if test -z "$(__mailverify_tokens -t)"
        set -l index (count (__mailverify_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'mailverify' -f
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_flags_or_options "mailverify" mbox-dialect' -l 'mbox-dialect' -d 'How mbox bodies are quoted (default: as the writer is evident, else mboxrd).' -rfka 'auto mboxo mboxrd mboxcl2'
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_flags_or_options "mailverify" against' -l 'against' -d 'Also check that every message of this live Maildir or mbox is in the bundle.' -rfka ''
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_flags_or_options "mailverify" json' -l 'json' -d 'One JSON object per target: target, kind, ok, messages, problems (path, offset, message_id, problem), notes.'
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_flags_or_options "mailverify" threads' -l 'threads' -d 'Decompression threads (default: all cores).' -rfka ''
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_flags_or_options "mailverify" version' -l 'version' -d 'Show the version.'
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_flags_or_options "mailverify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_positional "mailverify" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'mailverify' -n '__mailverify_should_offer_completions_for_flags_or_options "mailverify help" version' -l 'version' -d 'Show the version.'
