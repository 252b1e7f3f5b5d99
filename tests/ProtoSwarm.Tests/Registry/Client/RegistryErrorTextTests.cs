using System.Net;
using ProtoSwarm.Registry.Client;

namespace ProtoSwarm.Tests.Registry.Client;

public sealed class RegistryErrorTextTests
{
    private const string Registry = "10.0.0.11:2377";
    private static readonly string Layer = "sha256:" + new string('a', 64);

    [Fact]
    public void A_Manifest_Naming_A_Missing_Blob_Says_What_To_Do_And_Keeps_Code_And_Digest_In_The_Tail()
    {
        var text = RegistryErrorText.Describe(Registry, RegistryOperation.PutManifest, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN",
            $"manifest library/busybox:latest names blob {Layer}, which is not in repository 'library/busybox'; push (or mount) the blobs first, then the manifest",
            "library/busybox", "latest", Layer);

        Assert.Equal(
            $"the registry at {Registry} refused image busybox:latest: a layer or config the image names is not in repository library/busybox (removed by `protoswarm registry gc` during the push?); push the image again [MANIFEST_BLOB_UNKNOWN {Layer}]",
            text);
    }

    [Fact]
    public void A_Push_Whose_Layers_Reached_No_Majority_Says_How_Far_They_Got_And_To_Push_Again()
    {
        var text = RegistryErrorText.Describe(Registry, RegistryOperation.PutManifest, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE",
            "its blobs reached only 1 of 3 managers in 60 s, short of the majority (2) a push needs, so manifest me/app:v2 was not stored; a push is acknowledged once a majority of the managers hold its layers",
            "me/app", "v2", null);

        Assert.Equal(
            $"the registry at {Registry} did not keep image me/app:v2: its blobs reached only 1 of 3 managers in 60 s, short of the majority (2) a push needs, so manifest me/app:v2 was not stored; a push is kept once a majority of the managers hold its layers: check that the managers are up and reach each other (`protoswarm node ls`), then push again [UNAVAILABLE]",
            text);
    }

    [Fact]
    public void A_Push_Refused_For_Want_Of_A_Majority_Is_Not_Retried_But_Other_503s_Are()
    {
        var unavailable = new RegistryClientException("x", HttpStatusCode.ServiceUnavailable, "UNAVAILABLE", Registry, "me/app", "v2");
        var failing = new RegistryClientException("x", HttpStatusCode.ServiceUnavailable, "UNKNOWN", Registry, "me/app", "v2");

        Assert.False(unavailable.IsTransient);
        Assert.Equal(ProtoSwarm.Contracts.RejectCode.Unavailable, unavailable.Reject);
        Assert.True(failing.IsTransient);
    }

    [Fact]
    public void A_Missing_Tag_Names_The_Image_And_The_Commands_That_Help_Without_Api_Paths()
    {
        var text = RegistryErrorText.Describe(Registry, RegistryOperation.ReadManifest, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN",
            "manifest 'v2' is not in repository 'me/app'; see its tags with GET /v2/me/app/tags/list", "me/app", "v2", null);

        Assert.Equal($"image me/app:v2 is not in the registry at {Registry}; push the image first from a manager (`protoswarm image push me/app:v2`), or see what the registry holds with `protoswarm registry ls` [MANIFEST_UNKNOWN]", text);
        Assert.DoesNotContain("/v2/", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"errors\":[{\"code\":\"X\"}]}")]
    [InlineData("<html><body>502 Bad Gateway</body></html>")]
    public void A_Raw_Json_Or_Html_Body_Is_Never_Shown(string body)
    {
        var text = RegistryErrorText.Describe(Registry, RegistryOperation.Upload, HttpStatusCode.BadGateway, "UNKNOWN", body, "library/app", Layer, null);

        Assert.Equal($"the registry at {Registry} failed while pushing image app; try again, and if it fails again see the managers' logs [UNKNOWN {Layer}]", text);
    }

    [Fact]
    public void A_Refused_Push_Says_Who_May_Push()
    {
        var text = RegistryErrorText.Describe(Registry, RegistryOperation.Upload, HttpStatusCode.Forbidden, "DENIED", "requires push access", "library/app", Layer, null);

        Assert.StartsWith($"the registry at {Registry} refused to let this node push image app: only managers may push", text, StringComparison.Ordinal);
        Assert.EndsWith($"[DENIED {Layer}]", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_Refusal_Keeps_The_Registrys_Words_Up_To_Its_Advice()
    {
        var text = RegistryErrorText.Describe(Registry, RegistryOperation.PutManifest, HttpStatusCode.BadRequest, "TAG_INVALID",
            "the tag is reserved; see GET /v2/x", "library/app", "v1", null);

        Assert.Equal($"the registry at {Registry} refused to push image app:v1: the tag is reserved; see the managers' logs [TAG_INVALID]", text);
    }

    [Theory]
    [InlineData("GET", "/v2/a/b/manifests/v1", "ReadManifest")]
    [InlineData("HEAD", "/v2/a/b/manifests/v1", "ReadManifest")]
    [InlineData("PUT", "/v2/a/b/manifests/v1", "PutManifest")]
    [InlineData("GET", "/v2/a/b/blobs/sha256:00", "ReadBlob")]
    [InlineData("PATCH", "/v2/a/b/blobs/uploads/123", "Upload")]
    [InlineData("GET", "/v2/", "Ping")]
    public void The_Operation_Is_Read_From_The_Request(string method, string path, string expected) =>
        Assert.Equal(expected, RegistryErrorText.OperationOf(new HttpRequestMessage(new HttpMethod(method), new Uri("http://r" + path))).ToString());
}
