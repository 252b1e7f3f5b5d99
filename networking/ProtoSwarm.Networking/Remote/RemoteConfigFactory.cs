using System.Net;
using Proto.Remote;

namespace ProtoSwarm.Networking.Remote;

/// <summary>The one place where ProtoSwarm's Proto.Remote settings are made.</summary>
public static class RemoteConfigFactory
{
    /// <summary>A listening remote for a node host: bound to the listen address, advertised as the node's address.</summary>
    public static RemoteConfig ForNode(IPEndPoint listen, string advertiseHost) =>
        RemoteConfig.BindTo(listen.Address.ToString(), listen.Port)
            .WithAdvertisedHost(advertiseHost)
            .WithAdvertisedPort(listen.Port)
            .WithContractSerializer();

    /// <summary>A remote that only connects out: the CLI's and client programs' side.</summary>
    public static RemoteConfig ForClient() =>
        RemoteConfig.BindToLocalhost().WithContractSerializer();

    public static RemoteConfig WithContractSerializer(this RemoteConfig config) =>
        config.WithSerializer(ContractSerializer.SerializerId, ContractSerializer.Priority, new ContractSerializer());
}
