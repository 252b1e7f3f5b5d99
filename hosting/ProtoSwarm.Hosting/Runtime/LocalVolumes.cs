using System.Collections.Immutable;
using ProtoSwarm.Containers.Volumes;
using ProtoSwarm.Contracts;

namespace ProtoSwarm.Hosting.Runtime;

/// <summary>
/// The node's `volume` commands, answered from its own volume store (STATE/volumes) whether or not
/// the node is in a swarm: like docker's local driver, a volume belongs to one node.
/// </summary>
internal sealed class LocalVolumes(string directory)
{
    public VolumeStore Store { get; } = new(directory);

    public static bool Handles(object request) => request is CreateVolume or ListVolumes or InspectVolume or RemoveVolume;

    public object Handle(object request)
    {
        try
        {
            return request switch
            {
                CreateVolume m => new VolumeCreated(ToWire(Store.Create(m.Name, m.Labels, m.Driver.Length == 0 ? VolumeStore.LocalDriver : m.Driver, m.Options))),
                ListVolumes => new VolumeList([.. Store.List().Select(ToWire)]),
                InspectVolume m => new VolumeDetails(ToWire(Store.Inspect(m.Name))),
                RemoveVolume m => Remove(m),
                _ => new CommandRejected(RejectCode.InvalidArgument, $"{request.GetType().Name} is not a volume command"),
            };
        }
        catch (VolumeStoreException e)
        {
            return new CommandRejected(e.Code, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new CommandRejected(RejectCode.Internal, $"the volume store at {directory} could not be written: {e.Message}");
        }
    }

    private VolumeRemoved Remove(RemoveVolume m)
    {
        var bytes = Store.Remove(m.Name, m.Force);
        return new VolumeRemoved(m.Name, bytes);
    }

    internal static VolumeObject ToWire(Volume volume) =>
        new(volume.Name, volume.Driver, volume.Mountpoint, volume.CreatedAt, volume.Labels, volume.Scope, [.. volume.UsedBy], volume.Anonymous, volume.Options);
}
