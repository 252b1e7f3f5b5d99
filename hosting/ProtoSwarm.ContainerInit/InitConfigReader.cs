using System.Text.Json;

namespace ProtoSwarm.ContainerInit;

// Reads the config the node host wrote with InitConfigJson, field by field with Utf8JsonReader. The
// serializer would first build its metadata for InitConfig (about 0.9 ms of CPU in a NativeAOT
// process, paid again by every container's stage 2); this reader builds nothing. The names are the
// serializer's (camelCase), unknown properties are skipped as the serializer skips them, and a null
// leaves the field's default (the writer never writes nulls).
internal static class InitConfigReader
{
    public static InitConfig Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        Next(ref reader);
        return ReadConfig(ref reader);
    }

    private static InitConfig ReadConfig(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var c = new InitConfig();
        while (NextProperty(ref reader) is { } name)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            switch (name)
            {
                case "id": c.Id = Text(ref reader); break;
                case "args": c.Args = Texts(ref reader); break;
                case "env": c.Env = Texts(ref reader); break;
                case "workingDir": c.WorkingDir = Text(ref reader); break;
                case "rootfsMount": c.RootfsMount = Text(ref reader); break;
                case "lowerDirs": c.LowerDirs = Texts(ref reader); break;
                case "upperDir": c.UpperDir = Text(ref reader); break;
                case "workDir": c.WorkDir = Text(ref reader); break;
                case "readOnlyRoot": c.ReadOnlyRoot = reader.GetBoolean(); break;
                case "networkNamespace": c.NetworkNamespace = Text(ref reader); break;
                case "hostname": c.Hostname = Text(ref reader); break;
                case "hosts": c.Hosts = Text(ref reader); break;
                case "resolvConf": c.ResolvConf = Text(ref reader); break;
                case "mounts": c.Mounts = Objects(ref reader, ReadMount); break;
                case "rootPropagation": c.RootPropagation = Text(ref reader); break;
                case "cgroupProcs": c.CgroupProcs = Texts(ref reader); break;
                case "cgroupMounts": c.CgroupMounts = Objects(ref reader, ReadCgroupMount); break;
                case "user": c.User = Text(ref reader); break;
                case "additionalGids": c.AdditionalGids = UInts(ref reader); break;
                case "capabilities": c.Capabilities = reader.GetUInt64(); break;
                case "noNewPrivileges": c.NoNewPrivileges = reader.GetBoolean(); break;
                case "seccomp": c.Seccomp = reader.GetBytesFromBase64(); break;
                case "processLabel": c.ProcessLabel = Text(ref reader); break;
                case "mountLabel": c.MountLabel = Text(ref reader); break;
                case "rlimits": c.Rlimits = Objects(ref reader, ReadRlimit); break;
                case "sysctls": c.Sysctls = Objects(ref reader, ReadSysctl); break;
                case "init": c.Init = reader.GetBoolean(); break;
                case "tty": c.Tty = reader.GetBoolean(); break;
                case "stdinPath": c.StdinPath = Text(ref reader); break;
                case "maskedPaths": c.MaskedPaths = Texts(ref reader); break;
                case "readonlyPaths": c.ReadonlyPaths = Texts(ref reader); break;
                case "stateDir": c.StateDir = Text(ref reader); break;
                case "logPath": c.LogPath = Text(ref reader); break;
                case "logMaxBytes": c.LogMaxBytes = reader.GetInt64(); break;
                case "logMaxFiles": c.LogMaxFiles = reader.GetInt32(); break;
                default: reader.Skip(); break;
            }
        }
        return c;
    }

    private static InitMount ReadMount(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var m = new InitMount();
        while (NextProperty(ref reader) is { } name)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            switch (name)
            {
                case "type": m.Type = Text(ref reader); break;
                case "source": m.Source = Text(ref reader); break;
                case "target": m.Target = Text(ref reader); break;
                case "readOnly": m.ReadOnly = reader.GetBoolean(); break;
                case "propagation": m.Propagation = Text(ref reader); break;
                case "nonRecursive": m.NonRecursive = reader.GetBoolean(); break;
                case "recursiveReadOnly": m.RecursiveReadOnly = reader.GetBoolean(); break;
                case "data": m.Data = Text(ref reader); break;
                default: reader.Skip(); break;
            }
        }
        return m;
    }

    private static InitCgroupMount ReadCgroupMount(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var m = new InitCgroupMount();
        while (NextProperty(ref reader) is { } name)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            switch (name)
            {
                case "name": m.Name = Text(ref reader); break;
                case "type": m.Type = Text(ref reader); break;
                case "options": m.Options = Text(ref reader); break;
                case "links": m.Links = Texts(ref reader); break;
                default: reader.Skip(); break;
            }
        }
        return m;
    }

    private static InitSysctl ReadSysctl(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var s = new InitSysctl();
        while (NextProperty(ref reader) is { } name)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            switch (name)
            {
                case "key": s.Key = Text(ref reader); break;
                case "value": s.Value = Text(ref reader); break;
                default: reader.Skip(); break;
            }
        }
        return s;
    }

    private static InitRlimit ReadRlimit(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var r = new InitRlimit();
        while (NextProperty(ref reader) is { } name)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }
            switch (name)
            {
                case "resource": r.Resource = reader.GetInt32(); break;
                case "soft": r.Soft = reader.GetUInt64(); break;
                case "hard": r.Hard = reader.GetUInt64(); break;
                default: reader.Skip(); break;
            }
        }
        return r;
    }

    private delegate T ItemReader<T>(ref Utf8JsonReader reader);

    /// <summary>The next property's name with the reader on its value, or null at the object's end.</summary>
    private static string? NextProperty(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return null;
        }
        var name = reader.GetString()!;
        Next(ref reader);
        return name;
    }

    private static string Text(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.String);
        return reader.GetString()!;
    }

    private static string[] Texts(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartArray);
        var items = new List<string>();
        for (Next(ref reader); reader.TokenType != JsonTokenType.EndArray; Next(ref reader))
        {
            items.Add(Text(ref reader));
        }
        return [.. items];
    }

    private static uint[] UInts(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartArray);
        var items = new List<uint>();
        for (Next(ref reader); reader.TokenType != JsonTokenType.EndArray; Next(ref reader))
        {
            items.Add(reader.GetUInt32());
        }
        return [.. items];
    }

    private static T[] Objects<T>(ref Utf8JsonReader reader, ItemReader<T> item)
    {
        Expect(ref reader, JsonTokenType.StartArray);
        var items = new List<T>();
        for (Next(ref reader); reader.TokenType != JsonTokenType.EndArray; Next(ref reader))
        {
            items.Add(item(ref reader));
        }
        return [.. items];
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("the config ends early");
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"expected {type}, found {reader.TokenType} at byte {reader.TokenStartIndex}");
        }
    }
}
