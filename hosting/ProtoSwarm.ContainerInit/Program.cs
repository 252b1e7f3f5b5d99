using ProtoSwarm.ContainerInit;

// protoswarm-init CONFIG      the monitor (stage 1): makes the pid namespace, starts stage 2 in it,
//                             reports on fd 3, waits for the container and reports its end.
// protoswarm-init --stage2 CONFIG   PID 1 of the container until it execs the entrypoint.
if (args.Length == 2 && args[0] == Stage2.Flag)
{
    return Stage2.Run(args[1]);
}
// protoswarm-init --exec EXECCONFIG   one more process in a running container (ExecStage); its
//                             inner stage is --exec-stage2.
if (args.Length == 2 && args[0] == ExecStage.Flag)
{
    return ExecStage.Run(args[1]);
}
if (args.Length == 2 && args[0] == ExecStage.InnerFlag)
{
    return ExecStage.RunInner(args[1]);
}
// protoswarm-init --host     the node host's shared monitor: containers handed over on fd 3 (ContainerMonitor.RunHost).
if (args.Length == 1 && args[0] == InitProtocol.SharedMonitorFlag)
{
    return ContainerMonitor.RunHost();
}
if (args.Length == 1)
{
    return ContainerMonitor.Run(args[0]);
}
Native.WriteAll(2, "usage: protoswarm-init CONFIG | --exec EXECCONFIG (started by protoswarmd, with a status socket on fd 3)\n");
return 2;
