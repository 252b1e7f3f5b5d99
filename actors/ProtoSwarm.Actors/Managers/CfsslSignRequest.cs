using System.Text.Json.Nodes;

namespace ProtoSwarm.Actors.Managers;

/// <summary>
/// What a manager asks an external CFSSL CA to sign, as swarmkit's PrepareCSR builds it: the node's CSR, the
/// subject the certificate must carry (CN node id, OU role, O cluster id: CFSSL takes the subject from the request,
/// not the CSR) and the hosts for its subject alternative names (the role and the node id, "swarm-ca" for a manager,
/// as swarmkit; and the node's address, which our own certificates carry as an IP SAN).
/// </summary>
public sealed record CfsslSignRequest(string CsrPem, string CommonName, string OrganizationalUnit, string Organization, IReadOnlyList<string> Hosts)
{
    /// <summary>CFSSL's sign request (`signer.SignRequest`): certificate_request, hosts, subject { CN, names [{ OU, O }] }.</summary>
    public string ToJson() =>
        new JsonObject
        {
            ["hosts"] = new JsonArray([.. Hosts.Select(h => (JsonNode?)JsonValue.Create(h))]),
            ["certificate_request"] = CsrPem,
            ["subject"] = new JsonObject
            {
                ["CN"] = CommonName,
                ["names"] = new JsonArray(new JsonObject { ["OU"] = OrganizationalUnit, ["O"] = Organization }),
            },
        }.ToJsonString();
}
