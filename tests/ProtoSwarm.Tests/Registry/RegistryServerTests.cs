using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using ProtoSwarm.Registry.Server;
using ProtoSwarm.Tests.Contracts;
using static ProtoSwarm.Tests.Registry.TestRegistry;

namespace ProtoSwarm.Tests.Registry;

public sealed class RegistryServerTests : IAsyncLifetime
{
    private TestRegistry _registry = null!;

    private HttpClient Push => _registry.Push;

    public async Task InitializeAsync() => _registry = await TestRegistry.StartAsync();

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    // ---- base

    [Theory]
    [InlineData("/v2/")]
    [InlineData("/v2")]
    public async Task Base_Answers_Empty_Json_With_The_Api_Version(string path)
    {
        using var response = await Push.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
    }

    [Fact]
    public async Task Errors_Carry_The_Api_Version_And_The_Spec_Body()
    {
        using var response = await Push.GetAsync($"/v2/test/app/blobs/{Digest("nothing"u8.ToArray())}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
        var (code, error) = await ErrorAsync(response);
        Assert.Equal("BLOB_UNKNOWN", code);
        Assert.Contains("test/app", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/v2/test/app/manifests/1.0", 405)]
    [InlineData("PATCH", "/v2/test/app/tags/list", 405)]
    [InlineData("GET", "/v2/test/app/blobs/uploads/", 405)]
    [InlineData("GET", "/v2/test/app/layers/x", 404)]
    public async Task Unknown_Routes_And_Methods_Are_Unsupported(string method, string path, int status)
    {
        using var response = await Push.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(status, (int)response.StatusCode);
        var (code, error) = await ErrorAsync(response);
        Assert.Equal("UNSUPPORTED", code);
        Assert.Contains(path.TrimEnd('/'), error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    // ---- uploads

    [Fact]
    public async Task Monolithic_Upload_Stores_Links_And_Serves_The_Blob()
    {
        var bytes = RandomBytes(300_000, 1);
        var digest = Digest(bytes);

        using var post = await Push.PostAsync($"/v2/test/app/blobs/uploads/?digest={digest}", new ByteArrayContent(bytes));

        Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        Assert.Equal($"/v2/test/app/blobs/{digest}", post.Headers.Location!.OriginalString);
        Assert.Equal(digest, post.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.True(File.Exists(Path.Combine(_registry.BlobsDir, digest[7..])));
        Assert.Equal(bytes.Length, (await _registry.Metadata.GetAsync("test/app", default))!.Blobs[digest]);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.UploadsDir));

        using var get = await Push.GetAsync($"/v2/test/app/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(bytes, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/octet-stream", get.Content.Headers.ContentType!.MediaType);
        Assert.Equal(digest, get.Headers.GetValues("Docker-Content-Digest").Single());

        using var head = await Push.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/test/app/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(bytes.Length, head.Content.Headers.ContentLength);
        Assert.Equal(digest, head.Headers.GetValues("Docker-Content-Digest").Single());
    }

    [Fact]
    public async Task Chunked_Upload_Appends_Patches_And_Completes_With_The_Last_Chunk()
    {
        var bytes = RandomBytes(250_000, 2);
        var digest = Digest(bytes);

        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var location = post.Headers.Location!.OriginalString;
        var uuid = post.Headers.GetValues("Docker-Upload-UUID").Single();
        Assert.Equal($"/v2/test/app/blobs/uploads/{uuid}", location);
        Assert.Equal("0-0", post.Headers.GetValues("Range").Single());

        var first = new ByteArrayContent(bytes[..100_000]);
        first.Headers.TryAddWithoutValidation("Content-Range", "0-99999");
        using var patch1 = await Push.PatchAsync(location, first);
        Assert.Equal(HttpStatusCode.Accepted, patch1.StatusCode);
        Assert.Equal("0-99999", patch1.Headers.GetValues("Range").Single());
        Assert.Equal(location, patch1.Headers.Location!.OriginalString);

        using var patch2 = await Push.PatchAsync(location, new ByteArrayContent(bytes[100_000..200_000]));
        Assert.Equal(HttpStatusCode.Accepted, patch2.StatusCode);
        Assert.Equal("0-199999", patch2.Headers.GetValues("Range").Single());

        using var status = await Push.GetAsync(location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-199999", status.Headers.GetValues("Range").Single());

        using var put = await Push.PutAsync($"{location}?digest={digest}", new ByteArrayContent(bytes[200_000..]));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal($"/v2/test/app/blobs/{digest}", put.Headers.Location!.OriginalString);
        Assert.Equal(digest, put.Headers.GetValues("Docker-Content-Digest").Single());

        Assert.Equal(bytes, await Push.GetByteArrayAsync($"/v2/test/app/blobs/{digest}"));
        using var gone = await Push.GetAsync(location);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await ErrorAsync(gone)).Code);
    }

    [Fact]
    public async Task Chunk_Not_Starting_At_The_Upload_Size_Is_416_And_Changes_Nothing()
    {
        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        var location = post.Headers.Location!.OriginalString;
        using var patch1 = await Push.PatchAsync(location, new ByteArrayContent(new byte[10]));

        var skipping = new ByteArrayContent(new byte[10]);
        skipping.Headers.TryAddWithoutValidation("Content-Range", "20-29");
        using var patch2 = await Push.PatchAsync(location, skipping);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, patch2.StatusCode);
        Assert.Equal("BLOB_UPLOAD_INVALID", (await ErrorAsync(patch2)).Code);
        Assert.Equal("0-9", patch2.Headers.GetValues("Range").Single());
        using var status = await Push.GetAsync(location);
        Assert.Equal("0-9", status.Headers.GetValues("Range").Single());
    }

    [Fact]
    public async Task Unknown_Upload_Is_Blob_Upload_Unknown()
    {
        var id = Guid.NewGuid();
        using var patch = await Push.PatchAsync($"/v2/test/app/blobs/uploads/{id}", new ByteArrayContent([1]));
        using var traversal = await Push.GetAsync("/v2/test/app/blobs/uploads/..%2F..%2Fblobs");

        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await ErrorAsync(patch)).Code);
        Assert.NotEqual(HttpStatusCode.OK, traversal.StatusCode);
    }

    [Fact]
    public async Task Upload_Of_One_Repository_Is_Unknown_In_Another()
    {
        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        var uuid = post.Headers.GetValues("Docker-Upload-UUID").Single();

        using var patch = await Push.PatchAsync($"/v2/other/app/blobs/uploads/{uuid}", new ByteArrayContent([1, 2, 3]));

        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await ErrorAsync(patch)).Code);
    }

    [Fact]
    public async Task Cancelled_Upload_Is_Removed()
    {
        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        var location = post.Headers.Location!.OriginalString;
        using var patch = await Push.PatchAsync(location, new ByteArrayContent(new byte[1000]));

        using var delete = await Push.DeleteAsync(location);
        using var again = await Push.DeleteAsync(location);

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("BLOB_UPLOAD_UNKNOWN", (await ErrorAsync(again)).Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.UploadsDir));
    }

    [Fact]
    public async Task Cross_Mount_Links_A_Blob_Of_Another_Repository_Without_Upload()
    {
        var digest = await _registry.UploadAsync("base/os", RandomBytes(5000, 3));

        using var mount = await Push.PostAsync($"/v2/test/app/blobs/uploads/?mount={digest}&from=base/os", null);

        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        Assert.Equal($"/v2/test/app/blobs/{digest}", mount.Headers.Location!.OriginalString);
        Assert.Equal(digest, mount.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(5000, (await _registry.Metadata.GetAsync("test/app", default))!.Blobs[digest]);
        using var get = await Push.GetAsync($"/v2/test/app/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    [Theory]
    [InlineData("base/os")]
    [InlineData("nothing/here")]
    public async Task Cross_Mount_Of_A_Blob_Not_In_The_Source_Falls_Back_To_An_Upload(string from)
    {
        await _registry.UploadAsync("base/os", RandomBytes(100, 4));
        var elsewhere = await _registry.UploadAsync("secret/repo", RandomBytes(100, 5));

        using var mount = await Push.PostAsync($"/v2/test/app/blobs/uploads/?mount={elsewhere}&from={from}", null);

        Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
        Assert.StartsWith("/v2/test/app/blobs/uploads/", mount.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Null(await _registry.Metadata.GetAsync("test/app", default));
    }

    [Fact]
    public async Task Digest_Mismatch_Is_Refused_And_Leaves_No_Blob_Nor_Link_Nor_Session()
    {
        var bytes = RandomBytes(10_000, 6);
        var claimed = Digest(RandomBytes(10_000, 7));
        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        var location = post.Headers.Location!.OriginalString;
        using var patch = await Push.PatchAsync(location, new ByteArrayContent(bytes));

        using var put = await Push.PutAsync($"{location}?digest={claimed}", null);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, error) = await ErrorAsync(put);
        Assert.Equal("DIGEST_INVALID", code);
        Assert.Contains(Digest(bytes), error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.BlobsDir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.UploadsDir));
        Assert.Null(await _registry.Metadata.GetAsync("test/app", default));
        using var status = await Push.GetAsync(location);
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
    }

    [Fact]
    public async Task Monolithic_Digest_Mismatch_Is_Refused_And_Leaves_Nothing()
    {
        using var post = await Push.PostAsync($"/v2/test/app/blobs/uploads/?digest={Digest([1, 2, 3])}", new ByteArrayContent([1, 2, 4]));

        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal("DIGEST_INVALID", (await ErrorAsync(post)).Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.BlobsDir));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.UploadsDir));
        Assert.Null(await _registry.Metadata.GetAsync("test/app", default));
    }

    [Fact]
    public async Task Monolithic_Upload_Whose_Body_Ends_Before_Its_Content_Length_Leaves_Nothing()
    {
        var bytes = RandomBytes(200_000, 8);

        var reply = await SendTruncatedAsync("POST", $"/v2/test/app/blobs/uploads/?digest={Digest(bytes)}", bytes, sent: 120_000);

        Assert.DoesNotContain(" 201 ", reply, StringComparison.Ordinal);
        await AssertNothingStoredAsync();
    }

    [Fact]
    public async Task Final_Put_Whose_Body_Ends_Before_Its_Content_Length_Leaves_No_Blob()
    {
        var bytes = RandomBytes(200_000, 9);
        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        var location = post.Headers.Location!.OriginalString;

        var reply = await SendTruncatedAsync("PUT", $"{location}?digest={Digest(bytes)}", bytes, sent: 150_000);

        Assert.DoesNotContain(" 201 ", reply, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.BlobsDir));
        Assert.Null(await _registry.Metadata.GetAsync("test/app", default));
        using var status = await Push.GetAsync(location);
        Assert.Equal("0-0", status.Headers.GetValues("Range").Single()); // the partial chunk was cut off again
    }

    [Fact]
    public async Task Patch_Whose_Body_Ends_Early_Leaves_The_Upload_As_Before()
    {
        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);
        var location = post.Headers.Location!.OriginalString;
        using var patch = await Push.PatchAsync(location, new ByteArrayContent(new byte[100]));

        await SendTruncatedAsync("PATCH", location, new byte[10_000], sent: 5_000);

        using var status = await Push.GetAsync(location);
        Assert.Equal("0-99", status.Headers.GetValues("Range").Single());
    }

    [Fact]
    public async Task Client_Cancelling_Mid_Body_Leaves_Nothing()
    {
        var bytes = RandomBytes(400_000, 10);
        using var cancel = new CancellationTokenSource();
        var content = new HalfThenHangContent(bytes);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/test/app/blobs/uploads/?digest={Digest(bytes)}") { Content = content };

        var send = Push.SendAsync(request, cancel.Token);
        await content.HalfSent.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Poll.Until(() => Directory.EnumerateDirectories(_registry.UploadsDir).Any(), "the upload session to start");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        await Poll.Until(() => _registry.Log.Lines.Any(l => l.Contains("ended early", StringComparison.Ordinal)), "the server to log the aborted body");
        await AssertNothingStoredAsync();
        request.Dispose();
    }

    // ---- names and digests

    [Theory]
    [InlineData("/v2/Test/App/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("/v2/test//app/manifests/latest")]
    [InlineData("/v2/-test/tags/list")]
    public async Task Bad_Name_Is_Name_Invalid(string path)
    {
        using var response = await Push.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("NAME_INVALID", (await ErrorAsync(response)).Code);
    }

    [Theory]
    [InlineData("GET", "/v2/test/app/blobs/sha256:ABC")]
    [InlineData("GET", "/v2/test/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("GET", "/v2/test/app/manifests/sha256:1234")]
    [InlineData("POST", "/v2/test/app/blobs/uploads/?digest=sha256:XYZ")]
    [InlineData("POST", "/v2/test/app/blobs/uploads/?mount=sha512:00&from=base/os")]
    public async Task Bad_Digest_Is_Digest_Invalid(string method, string path)
    {
        using var response = await Push.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent([]) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("DIGEST_INVALID", (await ErrorAsync(response)).Code);
    }

    [Fact]
    public async Task Final_Put_Without_Digest_Is_Digest_Invalid()
    {
        using var post = await Push.PostAsync("/v2/test/app/blobs/uploads/", null);

        using var put = await Push.PutAsync(post.Headers.Location!.OriginalString, null);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("DIGEST_INVALID", (await ErrorAsync(put)).Code);
    }

    // ---- manifests

    [Fact]
    public async Task Manifest_Put_Then_Get_And_Head_By_Tag_And_Digest_Give_The_Exact_Bytes()
    {
        var config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}"u8.ToArray();
        var layer = RandomBytes(2000, 11);
        await _registry.UploadAsync("test/app", config);
        await _registry.UploadAsync("test/app", layer);
        // Odd spacing and key order on purpose: the bytes are the identity, not the JSON they parse to.
        var manifest = Encoding.UTF8.GetBytes($"{{ \"schemaVersion\": 2,\n  \"mediaType\": \"{RegistryServer.OciManifest}\", \"config\": {Descriptor("application/vnd.oci.image.config.v1+json", config).ToJsonString()},\n\"layers\": [{Descriptor("application/vnd.oci.image.layer.v1.tar", layer).ToJsonString()}], \"annotations\": {{\"a\": \"b\"}} }}");
        var digest = Digest(manifest);

        using var put = await _registry.PutManifestAsync("test/app", "1.0", manifest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal($"/v2/test/app/manifests/{digest}", put.Headers.Location!.OriginalString);
        Assert.Equal(digest, put.Headers.GetValues("Docker-Content-Digest").Single());
        foreach (var reference in new[] { "1.0", digest })
        {
            using var get = await Push.GetAsync($"/v2/test/app/manifests/{reference}");
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(manifest, await get.Content.ReadAsByteArrayAsync());
            Assert.Equal(RegistryServer.OciManifest, get.Content.Headers.ContentType!.ToString());
            Assert.Equal(digest, get.Headers.GetValues("Docker-Content-Digest").Single());

            using var head = await Push.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/test/app/manifests/{reference}"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(manifest.Length, head.Content.Headers.ContentLength);
            Assert.Equal(digest, head.Headers.GetValues("Docker-Content-Digest").Single());
            Assert.Equal(RegistryServer.OciManifest, head.Content.Headers.ContentType!.ToString());
        }

        using var missing = await Push.GetAsync("/v2/test/app/manifests/2.0");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", (await ErrorAsync(missing)).Code);
    }

    [Fact]
    public async Task Manifest_Pushed_By_Digest_Must_Hash_To_It()
    {
        var config = RandomBytes(10, 12);
        await _registry.UploadAsync("test/app", config);
        var manifest = ImageManifest(config);

        using var wrong = await _registry.PutManifestAsync("test/app", Digest([1]), manifest);
        using var right = await _registry.PutManifestAsync("test/app", Digest(manifest), manifest);

        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("DIGEST_INVALID", (await ErrorAsync(wrong)).Code);
        Assert.Equal(HttpStatusCode.Created, right.StatusCode);
        Assert.Empty((await _registry.Metadata.GetAsync("test/app", default))!.Tags);
    }

    [Fact]
    public async Task Manifest_Naming_A_Blob_Not_In_The_Repository_Is_Refused_With_That_Digest()
    {
        var config = RandomBytes(10, 13);
        var layer = RandomBytes(10, 14);
        await _registry.UploadAsync("test/app", config);
        await _registry.UploadAsync("other/app", layer); // present on disk, but not linked to test/app

        using var put = await _registry.PutManifestAsync("test/app", "1.0", ImageManifest(config, layer));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, error) = await ErrorAsync(put);
        Assert.Equal("MANIFEST_BLOB_UNKNOWN", code);
        Assert.Equal(Digest(layer), error.GetProperty("detail").GetProperty("digest").GetString());
        Assert.Empty((await _registry.Metadata.GetAsync("test/app", default))!.Manifests);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/vnd.docker.distribution.manifest.v1+prettyjws")]
    [InlineData(null)]
    public async Task Manifest_Of_An_Unknown_Media_Type_Is_Refused_Naming_It(string? mediaType)
    {
        var config = RandomBytes(10, 15);
        await _registry.UploadAsync("test/app", config);
        var content = new ByteArrayContent(ImageManifest(config));
        content.Headers.ContentType = mediaType is null ? null : new MediaTypeHeaderValue(mediaType);

        using var put = await Push.PutAsync("/v2/test/app/manifests/1.0", content);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var (code, error) = await ErrorAsync(put);
        Assert.Equal("MANIFEST_INVALID", code);
        Assert.Contains(mediaType ?? "(none)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"schemaVersion\":1}")]
    [InlineData("{\"schemaVersion\":2,\"layers\":[]}")]
    public async Task Manifest_That_Is_Not_A_Manifest_Is_Refused(string body)
    {
        using var put = await _registry.PutManifestAsync("test/app", "1.0", Encoding.UTF8.GetBytes(body));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("MANIFEST_INVALID", (await ErrorAsync(put)).Code);
    }

    [Fact]
    public async Task Manifest_Larger_Than_4_MiB_Is_Refused()
    {
        var huge = new byte[(4 * 1024 * 1024) + 1];
        huge.AsSpan().Fill((byte)' ');

        var content = new ByteArrayContent(huge);
        content.Headers.ContentType = new MediaTypeHeaderValue(RegistryServer.OciManifest);
        // As docker's clients may: the server answers before the body is sent, so the refusal can be read.
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v2/test/app/manifests/1.0") { Content = content };
        request.Headers.ExpectContinue = true;

        using var put = await Push.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, put.StatusCode);
        Assert.Equal("SIZE_INVALID", (await ErrorAsync(put)).Code);
    }

    [Fact]
    public async Task Manifest_With_Subject_And_Artifact_Type_Is_Stored_Though_The_Subject_Is_Absent()
    {
        var empty = "{}"u8.ToArray();
        await _registry.UploadAsync("test/app", empty);
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryServer.OciManifest,
            ["artifactType"] = "application/vnd.example.sbom",
            ["config"] = Descriptor("application/vnd.oci.empty.v1+json", empty),
            ["layers"] = new JsonArray(Descriptor("application/vnd.oci.empty.v1+json", empty)),
            ["subject"] = new JsonObject { ["mediaType"] = RegistryServer.OciManifest, ["digest"] = Digest([9]), ["size"] = 1 },
        }.ToJsonString());

        using var put = await _registry.PutManifestAsync("test/app", Digest(manifest), manifest);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task Index_Needs_Its_Child_Manifests_In_The_Repository()
    {
        var child = await _registry.PushImageAsync("test/app", "amd64", "amd64");
        var missing = ImageManifest(RandomBytes(10, 16));
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryServer.OciIndex,
            ["manifests"] = new JsonArray(
                Descriptor(RegistryServer.OciManifest, child).Also(d => d["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = "amd64" }),
                Descriptor(RegistryServer.OciManifest, missing).Also(d => d["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = "arm64" })),
        }.ToJsonString());

        using var refused = await _registry.PutManifestAsync("test/app", "multi", index, RegistryServer.OciIndex);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var (code, error) = await ErrorAsync(refused);
        Assert.Equal("MANIFEST_UNKNOWN", code);
        Assert.Equal(Digest(missing), error.GetProperty("detail").GetProperty("digest").GetString());

        await _registry.UploadAsync("test/app", RandomBytes(10, 16));
        using var arm = await _registry.PutManifestAsync("test/app", Digest(missing), missing);
        Assert.Equal(HttpStatusCode.Created, arm.StatusCode);
        using var accepted = await _registry.PutManifestAsync("test/app", "multi", index, RegistryServer.OciIndex);
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);

        using var get = await Push.GetAsync("/v2/test/app/manifests/multi");
        Assert.Equal(index, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(RegistryServer.OciIndex, get.Content.Headers.ContentType!.ToString());
        var stored = (await _registry.Metadata.GetAsync("test/app", default))!.Manifests[Digest(index)];
        Assert.Equal<string>([Digest(child), Digest(missing)], stored.Manifests);
    }

    [Fact]
    public async Task Docker_V2_Manifest_And_List_Are_Accepted()
    {
        var config = RandomBytes(10, 18);
        var layer = RandomBytes(10, 19);
        await _registry.UploadAsync("test/app", config);
        await _registry.UploadAsync("test/app", layer);
        var dockerBytes = ImageManifest(RegistryServer.DockerManifest, config, layer);
        using var put = await _registry.PutManifestAsync("test/app", "docker", dockerBytes, RegistryServer.DockerManifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        var list = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = RegistryServer.DockerManifestList,
            ["manifests"] = new JsonArray(Descriptor(RegistryServer.DockerManifest, dockerBytes)),
        }.ToJsonString());
        using var putList = await _registry.PutManifestAsync("test/app", "list", list, RegistryServer.DockerManifestList);
        Assert.Equal(HttpStatusCode.Created, putList.StatusCode);
    }

    // ---- listings

    [Fact]
    public async Task Tags_List_Is_Sorted_And_Paginated_With_Link()
    {
        foreach (var tag in new[] { "b", "a", "d", "c", "e" })
        {
            await _registry.PushImageAsync("test/app", tag, "same");
        }

        using var all = await Push.GetAsync("/v2/test/app/tags/list");
        Assert.Equal("{\"name\":\"test/app\",\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", await all.Content.ReadAsStringAsync());
        Assert.False(all.Headers.Contains("Link"));

        using var first = await Push.GetAsync("/v2/test/app/tags/list?n=2");
        Assert.Equal("{\"name\":\"test/app\",\"tags\":[\"a\",\"b\"]}", await first.Content.ReadAsStringAsync());
        Assert.Equal("</v2/test/app/tags/list?last=b&n=2>; rel=\"next\"", first.Headers.GetValues("Link").Single());

        using var second = await Push.GetAsync("/v2/test/app/tags/list?last=b&n=2");
        Assert.Equal("{\"name\":\"test/app\",\"tags\":[\"c\",\"d\"]}", await second.Content.ReadAsStringAsync());
        Assert.Equal("</v2/test/app/tags/list?last=d&n=2>; rel=\"next\"", second.Headers.GetValues("Link").Single());

        using var last = await Push.GetAsync("/v2/test/app/tags/list?last=d&n=2");
        Assert.Equal("{\"name\":\"test/app\",\"tags\":[\"e\"]}", await last.Content.ReadAsStringAsync());
        Assert.False(last.Headers.Contains("Link"));

        using var bad = await Push.GetAsync("/v2/test/app/tags/list?n=many");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Tags_Of_An_Unknown_Repository_Is_Name_Unknown()
    {
        using var response = await Push.GetAsync("/v2/nothing/here/tags/list");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NAME_UNKNOWN", (await ErrorAsync(response)).Code);
    }

    [Fact]
    public async Task Catalog_Lists_Repositories_Paginated_With_Link()
    {
        foreach (var name in new[] { "z/app", "a/app", "m/app" })
        {
            await _registry.UploadAsync(name, [1]);
        }

        using var all = await Push.GetAsync("/v2/_catalog");
        Assert.Equal("{\"repositories\":[\"a/app\",\"m/app\",\"z/app\"]}", await all.Content.ReadAsStringAsync());

        using var first = await Push.GetAsync("/v2/_catalog?n=2");
        Assert.Equal("{\"repositories\":[\"a/app\",\"m/app\"]}", await first.Content.ReadAsStringAsync());
        Assert.Equal("</v2/_catalog?last=m%2Fapp&n=2>; rel=\"next\"", first.Headers.GetValues("Link").Single());

        using var second = await Push.GetAsync("/v2/_catalog?last=m%2Fapp&n=2");
        Assert.Equal("{\"repositories\":[\"z/app\"]}", await second.Content.ReadAsStringAsync());
        Assert.False(second.Headers.Contains("Link"));
    }

    // ---- deletes

    [Fact]
    public async Task Deleting_A_Tag_Keeps_The_Manifest_And_Deleting_A_Digest_Removes_It_With_Its_Tags()
    {
        var manifest = await _registry.PushImageAsync("test/app", "1.0", "x");
        var digest = Digest(manifest);
        using (var again = await _registry.PutManifestAsync("test/app", "latest", manifest))
        {
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        }

        using var untag = await Push.DeleteAsync("/v2/test/app/manifests/1.0");
        Assert.Equal(HttpStatusCode.Accepted, untag.StatusCode);
        using var byTag = await Push.GetAsync("/v2/test/app/manifests/1.0");
        Assert.Equal(HttpStatusCode.NotFound, byTag.StatusCode);
        using var stillByDigest = await Push.GetAsync($"/v2/test/app/manifests/{digest}");
        Assert.Equal(HttpStatusCode.OK, stillByDigest.StatusCode);

        using var delete = await Push.DeleteAsync($"/v2/test/app/manifests/{digest}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        var repository = (await _registry.Metadata.GetAsync("test/app", default))!;
        Assert.Empty(repository.Manifests);
        Assert.Empty(repository.Tags);

        using var again2 = await Push.DeleteAsync($"/v2/test/app/manifests/{digest}");
        Assert.Equal(HttpStatusCode.NotFound, again2.StatusCode);
        Assert.Equal("MANIFEST_UNKNOWN", (await ErrorAsync(again2)).Code);
    }

    [Fact]
    public async Task Deleting_A_Blob_Unlinks_It_From_The_Repository_Only()
    {
        var digest = await _registry.UploadAsync("test/app", [1, 2, 3]);
        await _registry.UploadAsync("other/app", [1, 2, 3]);

        using var delete = await Push.DeleteAsync($"/v2/test/app/blobs/{digest}");
        using var get = await Push.GetAsync($"/v2/test/app/blobs/{digest}");
        using var other = await Push.GetAsync($"/v2/other/app/blobs/{digest}");
        using var again = await Push.DeleteAsync($"/v2/test/app/blobs/{digest}");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("BLOB_UNKNOWN", (await ErrorAsync(get)).Code);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    // ---- access

    [Fact]
    public async Task No_Or_Wrong_Credentials_Are_401_With_The_Challenge()
    {
        using var wrong = _registry.NewClient("push", "guess");
        foreach (var client in new[] { _registry.Anonymous, wrong })
        {
            using var response = await client.GetAsync("/v2/");

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Basic realm=\"protoswarm-registry\"", response.Headers.WwwAuthenticate.Single().ToString());
            Assert.Equal("UNAUTHORIZED", (await ErrorAsync(response)).Code);
            Assert.Equal("registry/2.0", response.Headers.GetValues("Docker-Distribution-API-Version").Single());
        }
    }

    [Fact]
    public async Task Pull_User_May_Read_But_Not_Write()
    {
        var manifest = await _registry.PushImageAsync("test/app", "1.0", "x");

        using var read = await _registry.Pull.GetAsync("/v2/test/app/manifests/1.0");
        using var write = await _registry.Pull.PostAsync("/v2/test/app/blobs/uploads/", null);
        using var delete = await _registry.Pull.DeleteAsync($"/v2/test/app/manifests/{Digest(manifest)}");

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        var (code, error) = await ErrorAsync(write);
        Assert.Equal("DENIED", code);
        Assert.Contains("may only pull", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
    }

    [Fact]
    public async Task Empty_Token_Turns_Its_User_Off()
    {
        await using var registry = await TestRegistry.StartAsync(pushToken: () => string.Empty);
        using var emptyPassword = registry.NewClient("push", string.Empty);

        using var push = await registry.Push.GetAsync("/v2/");
        using var empty = await emptyPassword.GetAsync("/v2/");
        using var pull = await registry.Pull.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.Unauthorized, push.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, empty.StatusCode);
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    // ---- ranges

    [Fact]
    public async Task Range_Get_Returns_206_With_The_Part_Asked_For()
    {
        var bytes = RandomBytes(100_000, 17);
        var digest = await _registry.UploadAsync("test/app", bytes);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/test/app/blobs/{digest}");
        request.Headers.Range = new RangeHeaderValue(60_000, null);

        using var response = await _registry.Pull.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(bytes[60_000..], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(60_000, response.Content.Headers.ContentRange!.From);
        Assert.Equal(100_000, response.Content.Headers.ContentRange.Length);
    }

    // ---- helpers

    /// <summary>
    /// Sends a request whose Content-Length is the whole body but only <paramref name="sent"/> bytes of it, then
    /// closes the sending side, as a client that died mid-upload; returns whatever the server answered.
    /// </summary>
    private async Task<string> SendTruncatedAsync(string method, string path, byte[] body, int sent)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _registry.Host.Port);
        var stream = tcp.GetStream();
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"push:{PushToken}"));
        var head = $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body.AsMemory(0, sent));
        await stream.FlushAsync();
        tcp.Client.Shutdown(SocketShutdown.Send);

        using var reply = new MemoryStream();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await stream.CopyToAsync(reply, timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // A reset instead of an answer is as good: what matters is what the server kept.
        }

        // The request reached the handler, which saw its body end early (not a refusal before reading it).
        await Poll.Until(() => _registry.Log.Lines.Any(l => l.Contains($"{method} {path.Split('?')[0]} ended early", StringComparison.Ordinal)), "the server to log the truncated body");
        return Encoding.ASCII.GetString(reply.ToArray());
    }

    private async Task AssertNothingStoredAsync()
    {
        await Poll.Until(() => !Directory.EnumerateFileSystemEntries(_registry.UploadsDir).Any(), "the aborted upload's session to be removed");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_registry.BlobsDir));
        Assert.Null(await _registry.Metadata.GetAsync("test/app", default));
    }

    /// <summary>Claims the whole length, sends half, then hangs until the client cancels the request.</summary>
    private sealed class HalfThenHangContent(byte[] bytes) : HttpContent
    {
        public TaskCompletionSource HalfSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(bytes.AsMemory(0, bytes.Length / 2), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            HalfSent.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
