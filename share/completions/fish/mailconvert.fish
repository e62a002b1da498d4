function __mailconvert_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailconvert_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __mailconvert_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailconvert_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __mailconvert_parse_tokens -S
    set -l unparsed_tokens (__mailconvert_tokens -pc)
    switch $unparsed_tokens[1]
    case 'mailconvert'
        __mailconvert_parse_subcommand -r 1 'mbox-dialect=' 'o/output=' 'format=' 'layout=' 'mbox-variant=' 'info-separator=' 'utf8-names' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __mailconvert_parse_subcommand -r 1 'version'
        end
    end
end

function __mailconvert_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __mailconvert_parse_subcommand -S -a positional_count
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

function __mailconvert_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __mailconvert_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__mailconvert_tokens -p)
    if test -z "$(__mailconvert_tokens -t)"
        set -l index (count (__mailconvert_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'mailconvert' -f
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" mbox-dialect' -l 'mbox-dialect' -d 'How mbox bodies are quoted (default: as the writer is evident, else mboxrd).' -rfka 'auto mboxo mboxrd mboxcl2'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" o output' -l 'output' -s 'o' -d 'Where to write; - for an mbox stream on stdout.' -rfka ''
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" format' -l 'format' -d 'Output format: maildir, mbox or eml (default: mbox for - and *.mbox, else maildir).' -rfka 'maildir mbox eml'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" layout' -l 'layout' -d 'Maildir folder layout: maildir++ (.Sub.Folder, Dovecot and Courier) or nested (Sub/Folder).' -rfka 'maildir++ nested'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" mbox-variant' -l 'mbox-variant' -d 'mbox dialect to write: mboxrd (reversible quoting), mboxo or mboxcl2 (Content-Length, no quoting).' -rfka 'mboxo mboxrd mboxcl2'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" info-separator' -l 'info-separator' -d 'Character between a Maildir name and its flags: \':\' (standard), or \'!\' or \';\' for FAT, exFAT and NTFS disks, which reject \':\'.' -rfka ''
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" utf8-names' -l 'utf8-names' -d 'Write folder names in UTF-8 instead of IMAP modified UTF-7 (what Dovecot and Courier expect).'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" version' -l 'version' -d 'Show the version.'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_positional "mailconvert" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'mailconvert' -n '__mailconvert_should_offer_completions_for_flags_or_options "mailconvert help" version' -l 'version' -d 'Show the version.'
