namespace ProtoSwarm.Contracts;

/// <summary>
/// Where ProtoSwarm.Contracts.Generator puts an assembly's resolver, and where <see cref="ContractResolver"/> looks
/// for it at run time: one rule for both, this file being compiled into the generator as well (a link in its csproj).
/// </summary>
internal static class GeneratedResolverName
{
    /// <summary>The resolver's simple type name.</summary>
    public const string TypeName = "GeneratedContractResolver";

    /// <summary>
    /// The AppContext data name under which an assembly's module initializer (generated with its resolver) leaves the
    /// resolver, so that it is found without reflection: a NativeAOT binary (the CLI) has no type lookup by name.
    /// </summary>
    public static string AppContextKey(string assemblyName) => "ProtoSwarm.Contracts.GeneratedResolver:" + assemblyName;

    /// <summary>The assembly's name with every character that cannot stand in a namespace replaced by '_', then ".ContractFormatters".</summary>
    public static string Namespace(string assemblyName)
    {
        var chars = new char[assemblyName.Length];
        for (var i = 0; i < chars.Length; i++)
        {
            var c = assemblyName[i];
            chars[i] = char.IsLetterOrDigit(c) || c == '_' || c == '.' ? c : '_';
        }

        return new string(chars) + ".ContractFormatters";
    }
}
