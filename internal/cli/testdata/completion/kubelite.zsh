#compdef kubelite
# zsh completion for kubelite: kubelite completion zsh > "${fpath[1]}/_kubelite"
# (the bash function, through zsh's bashcompinit)
autoload -U +X bashcompinit && bashcompinit

_kubelite() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local cmd="" sub="" nargs=0 i w skip=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        if [[ -n $skip ]]; then skip=""; continue; fi
        if [[ $w == -* ]]; then
            # kubectl's flags that take a value take the next word
            if [[ $cmd == kubectl && $w != *=* ]]; then
                case "$w" in
                    --certificate-authority|--container|--filename|--image|--kubeconfig|--namespace|--ns|--output|--port|--replicas|--selector|--server|--service-port|--template|--timeout|--token|--update-period|-c|-f|-l|-o|-p|-s|-t|-u) skip=1 ;;
                esac
            fi
            continue
        fi
        if [[ -z $cmd ]]; then cmd="$w"
        elif [[ -z $sub ]]; then sub="$w"
        else nargs=$((nargs + 1))
        fi
    done
    local words=""
    case "$cmd" in
    "") words="master kubectl doctor help" ;;
    kubectl)
        case "$sub" in
        "") words="create delete describe get log logs resize rollingupdate rolling-update run run-container scale stop update version help" ;;
        help) words="create delete describe get log logs resize rollingupdate rolling-update run run-container scale stop update version" ;;
        create) words="--certificate-authority --filename --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --token -f -s" ;;
        delete) words="--cascade --certificate-authority --filename --insecure-skip-tls-verify --kubeconfig --namespace --ns --selector --server --timeout --token -f -l -s"; [[ $nargs == 0 && $cur != -* ]] && words="endpoints ev event events mi minion minions node nodes po pod pods rc replicationControllers replicationcontrollers se service services svc" ;;
        describe) words="--certificate-authority --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --token -s"; [[ $nargs == 0 && $cur != -* ]] && words="endpoints ev event events mi minion minions node nodes po pod pods rc replicationControllers replicationcontrollers se service services svc" ;;
        get) words="--certificate-authority --insecure-skip-tls-verify --kubeconfig --namespace --no-headers --ns --output --selector --server --template --token --watch -l -o -s -t -w"; [[ $nargs == 0 && $cur != -* ]] && words="endpoints ev event events mi minion minions node nodes po pod pods rc replicationControllers replicationcontrollers se service services svc" ;;
        log|logs) words="--certificate-authority --follow --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --token -f -s" ;;
        resize) words="--certificate-authority --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --token -s" ;;
        rollingupdate|rolling-update) words="--certificate-authority --container --filename --image --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --timeout --token --update-period -c -f -s -u" ;;
        run|run-container) words="--certificate-authority --insecure-skip-tls-verify --kubeconfig --namespace --ns --port --server --service-port --token -p -s" ;;
        scale) words="--certificate-authority --insecure-skip-tls-verify --kubeconfig --namespace --ns --replicas --server --token -s" ;;
        stop) words="--certificate-authority --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --timeout --token -s"; [[ $nargs == 0 && $cur != -* ]] && words="endpoints ev event events mi minion minions node nodes po pod pods rc replicationControllers replicationcontrollers se service services svc" ;;
        update) words="--certificate-authority --filename --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --token -f -s" ;;
        version) words="--certificate-authority --client --insecure-skip-tls-verify --kubeconfig --namespace --ns --server --token -c -s" ;;
        esac ;;
    master) words="--etcd-embed --etcd_embed --port -v" ;;
    doctor)
        case "$sub" in
        master) words="--etcd-embed" ;;
        minion) words="--master" ;;
        *) words="master minion --mode" ;;
        esac ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}

complete -F _kubelite kubelite
