function __mailpack_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailpack_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __mailpack_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailpack_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __mailpack_parse_tokens -S
    set -l unparsed_tokens (__mailpack_tokens -pc)
    switch $unparsed_tokens[1]
    case 'mailpack'
        __mailpack_parse_subcommand -r 1 'mbox-dialect=' 'o/output=' 'compression=' 'level=' 'threads=' 'volume-size=' 'info-separator=' 'verify' 'base=' 'rehash' 'consolidate' 'keep-history' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __mailpack_parse_subcommand -r 1 'version'
        end
    end
end

function __mailpack_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __mailpack_parse_subcommand -S -a positional_count
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

function __mailpack_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __mailpack_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__mailpack_tokens -p)
    if test -z "$(__mailpack_tokens -t)"
        set -l index (count (__mailpack_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'mailpack' -f
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" mbox-dialect' -l 'mbox-dialect' -d 'How mbox bodies are quoted (default: as the writer is evident, else mboxrd).' -rfka 'auto mboxo mboxrd mboxcl2'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" o output' -l 'output' -s 'o' -d 'The bundle to write (.tar.xz, .tar.gz or .tar); - for stdout.' -rfka ''
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" compression' -l 'compression' -d 'xz, gzip or none (default: from the output name, else xz).' -rfka ''
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" level' -l 'level' -d 'Compression level: xz preset 0-9 (default 1, see README) or gzip level 1-9 (default 6).' -rfka ''
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" threads' -l 'threads' -d 'Compression threads (default: all cores).' -rfka ''
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" volume-size' -l 'volume-size' -d 'Split the output into files of at most SIZE (4G, 3900M) named BUNDLE.001, .002, ...' -rfka ''
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" info-separator' -l 'info-separator' -d 'Character between a Maildir name and its flags: \':\' (standard), or \'!\' or \';\' for FAT, exFAT and NTFS disks, which reject \':\'.' -rfka ''
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" verify' -l 'verify' -d 'Read the written bundle back from disk and verify it before exiting.'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" base' -l 'base' -d 'Write an increment over this bundle (or the newest bundle in this directory whose chain is all there).' -rfka ''
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" rehash' -l 'rehash' -d 'With --base: read and hash every file, even those the base\'s state records unchanged.'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" consolidate' -l 'consolidate' -d 'The sources are a chain of bundles: write the newest one\'s state as one full bundle.'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" keep-history' -l 'keep-history' -d 'With --consolidate: keep the chain\'s older states too, for --as-of and --deleted.'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" version' -l 'version' -d 'Show the version.'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_positional "mailpack" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'mailpack' -n '__mailpack_should_offer_completions_for_flags_or_options "mailpack help" version' -l 'version' -d 'Show the version.'
