# fish completion for kubelite: kubelite completion fish > ~/.config/fish/completions/kubelite.fish
complete -c kubelite -f
complete -c kubelite -n 'not __fish_seen_subcommand_from master kubectl doctor' -a master -d 'run the master'
complete -c kubelite -n 'not __fish_seen_subcommand_from master kubectl doctor' -a kubectl -d 'the v0.6 CLI'
complete -c kubelite -n 'not __fish_seen_subcommand_from master kubectl doctor' -a doctor -d 'check this machine'
complete -c kubelite -n '__fish_seen_subcommand_from master' -l etcd-embed
complete -c kubelite -n '__fish_seen_subcommand_from master' -l etcd_embed
complete -c kubelite -n '__fish_seen_subcommand_from master' -l port
complete -c kubelite -n '__fish_seen_subcommand_from master' -s v
complete -c kubelite -n '__fish_seen_subcommand_from doctor; and not __fish_seen_subcommand_from master minion' -a 'master minion'
complete -c kubelite -n '__fish_seen_subcommand_from doctor; and __fish_seen_subcommand_from master' -l etcd-embed
complete -c kubelite -n '__fish_seen_subcommand_from doctor; and __fish_seen_subcommand_from minion' -l master
complete -c kubelite -n '__fish_seen_subcommand_from doctor; and not __fish_seen_subcommand_from master minion' -l mode
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and not __fish_seen_subcommand_from create delete describe get log logs resize rollingupdate rolling-update run run-container scale stop update version' -a 'create delete describe get log logs resize rollingupdate rolling-update run run-container scale stop update version help'
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete describe get stop' -a 'endpoints ev event events mi minion minions node nodes po pod pods rc replicationControllers replicationcontrollers se service services svc'
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l filename
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -s f
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from create' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l cascade
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l filename
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l selector
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l timeout
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -s f
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -s l
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from delete' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from describe' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l no-headers
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l output
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l selector
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l template
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -l watch
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -s l
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -s o
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -s t
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from get' -s w
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l follow
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -s f
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from log logs' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from resize' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l container
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l filename
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l image
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l timeout
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -l update-period
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -s c
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -s f
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from rollingupdate rolling-update' -s u
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l port
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l service-port
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -s p
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from run run-container' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l replicas
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from scale' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l timeout
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from stop' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l filename
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -s f
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from update' -s s
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l certificate-authority
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l client
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l insecure-skip-tls-verify
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l kubeconfig
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l namespace
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l ns
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l server
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -l token
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -s c
complete -c kubelite -n '__fish_seen_subcommand_from kubectl; and __fish_seen_subcommand_from version' -s s
