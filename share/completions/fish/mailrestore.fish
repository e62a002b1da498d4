function __mailrestore_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailrestore_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __mailrestore_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mailrestore_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __mailrestore_parse_tokens -S
    set -l unparsed_tokens (__mailrestore_tokens -pc)
    switch $unparsed_tokens[1]
    case 'mailrestore'
        __mailrestore_parse_subcommand -r 1 'mbox-dialect=' 'as-of=' 'deleted' 'o/output=' 'into=' 'dry-run' 'since=' 'until=' 'date-source=' 'from=+' 'to=+' 'subject=+' 'header=+' 'message-id=+' 'message-ids=' 'folder=+' 'flag=+' 'no-flag=+' 'keyword=+' 'min-size=' 'max-size=' 'regex' 'format=' 'layout=' 'mbox-variant=' 'info-separator=' 'utf8-names' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'help'
            __mailrestore_parse_subcommand -r 1 'version'
        end
    end
end

function __mailrestore_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __mailrestore_parse_subcommand -S -a positional_count
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

function __mailrestore_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __mailrestore_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__mailrestore_tokens -p)
    if test -z "$(__mailrestore_tokens -t)"
        set -l index (count (__mailrestore_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'mailrestore' -f
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" mbox-dialect' -l 'mbox-dialect' -d 'How mbox bodies are quoted (default: as the writer is evident, else mboxrd).' -rfka 'auto mboxo mboxrd mboxcl2'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" as-of' -l 'as-of' -d 'The mailbox as it was at DATE: the state of the last bundle created at or before it.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" deleted' -l 'deleted' -d 'Messages an earlier state held and the chosen state (the newest, or --as-of\'s) does not: what was deleted. Combines with every selection option.'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" o output' -l 'output' -s 'o' -d 'The folder tree to restore into.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" into' -l 'into' -d 'Put every restored message into this one folder (e.g. Recovered, or Archive/Recovered).' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" dry-run' -l 'dry-run' -d 'Print what would be restored (as mailscan does) and write nothing.'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" since' -l 'since' -d 'Messages dated on or after DATE.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" until' -l 'until' -d 'Messages dated before DATE (exclusive).' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" date-source' -l 'date-source' -d 'Which date --since/--until compare: header (the Date header, else the received time) or received.' -rfka 'header received'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'from' -d 'Sender address or display name contains P (repeat for OR).' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'to' -d 'A To, Cc or Bcc recipient contains P.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'subject' -d 'The decoded Subject contains P.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'header' -d 'Any header: \'Name: P\' (the decoded value contains P).' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'message-id' -d 'This Message-ID, with or without <> (repeatable).' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" message-ids' -l 'message-ids' -d 'Read Message-IDs from FILE, one per line.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'folder' -d 'Folder path matches GLOB (INBOX for the top folder), e.g. \'Archive/*\'.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'flag' -d 'Has Maildir flag F (S seen, R replied, F flagged, T trashed, D draft, P passed); FS means both; repeat for OR.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'no-flag' -d 'Lacks Maildir flag F (FS: lacks both; repeat for OR).' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore"' -l 'keyword' -d 'Has IMAP keyword NAME ($Forwarded, $Junk, Wichtig; case aside); repeat for OR.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" min-size' -l 'min-size' -d 'At least N bytes (10k, 5M).' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" max-size' -l 'max-size' -d 'At most N bytes.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" regex' -l 'regex' -d 'Every P is a POSIX extended regular expression (case-insensitive) instead of a substring.'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" format' -l 'format' -d 'Output format: maildir, mbox or eml (default: mbox for - and *.mbox, else maildir).' -rfka 'maildir mbox eml'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" layout' -l 'layout' -d 'Maildir folder layout: maildir++ (.Sub.Folder, Dovecot and Courier) or nested (Sub/Folder).' -rfka 'maildir++ nested'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" mbox-variant' -l 'mbox-variant' -d 'mbox dialect to write: mboxrd (reversible quoting), mboxo or mboxcl2 (Content-Length, no quoting).' -rfka 'mboxo mboxrd mboxcl2'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" info-separator' -l 'info-separator' -d 'Character between a Maildir name and its flags: \':\' (standard), or \'!\' or \';\' for FAT, exFAT and NTFS disks, which reject \':\'.' -rfka ''
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" utf8-names' -l 'utf8-names' -d 'Write folder names in UTF-8 instead of IMAP modified UTF-7 (what Dovecot and Courier expect).'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" version' -l 'version' -d 'Show the version.'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_positional "mailrestore" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'mailrestore' -n '__mailrestore_should_offer_completions_for_flags_or_options "mailrestore help" version' -l 'version' -d 'Show the version.'
