using System.Net;
using System.Text.Json.Nodes;
using Worker.Audit;
using Worker.Contracts;
using Worker.Persistence;
using Worker.Requests;
using static Worker.IntegrationTests.Ops.Rows;

namespace Worker.IntegrationTests.Ops;

/// <summary>GET /requests/{requestId} and GET /requests against rows seeded under this test's own provider names.</summary>
[Collection(OpsCollection.Name)]
public sealed class RequestsApiTests(OpsFixture fixture)
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    [Fact]
    public async Task A_request_comes_with_its_attempts_in_the_order_they_happened()
    {
        var gemini = $"ops-{fixture.Run}-detail-g";
        var openai = $"ops-{fixture.Run}-detail-o";
        var t = Now.AddMinutes(-5);
        var first = Call(0, gemini, "g-pro", 1, t, 120, "rate_limit", "retried");
        first.HttpStatus = 429;
        first.RetryAfterMs = 1000;
        first.WaitMs = 1000;
        first.Note = "retry 1 of 1";
        first.Detail = "429 RESOURCE_EXHAUSTED";
        var second = Call(0, gemini, "g-pro", 2, t.AddSeconds(2), 300, "server", "fell_back");
        second.HttpStatus = 503;
        second.Note = "1 retries spent";
        var third = Call(1, openai, "o-mini", 1, t.AddSeconds(3), 800, inputTokens: 12, outputTokens: 34, costUsd: 0.00042m);
        // Inserted out of order: the timeline must come from the times, not from insertion.
        var request = Request(RequestStatus.Succeeded, t.AddSeconds(-1), t.AddSeconds(4), openai, "o-mini", true, third, first, second);
        request.Metadata = new Dictionary<string, string> { ["tenant"] = "acme" };
        request.InputTokens = 12;
        request.OutputTokens = 34;
        request.EstimatedCostUsd = 0.00042m;
        request.PromptHash = new string('a', 64);
        request.Tenant = "acme";
        request.Route = StoredJson.Route(new RouteDecision("trivial", [$"{gemini}/g-pro", $"{openai}/o-mini"], "route 'trivial' -> chain 'fast'; configured order kept"));
        await fixture.SeedAsync(request);

        var detail = await fixture.Client.GetJsonAsync($"/requests/{request.RequestId}");

        var row = detail["request"]!;
        Assert.Equal(request.RequestId, Guid.Parse((string)row["requestId"]!));
        Assert.Equal("succeeded", (string?)row["status"]);
        Assert.Equal(openai, (string?)row["provider"]);
        Assert.True((bool)row["fallbackUsed"]!);
        Assert.Equal(3, (int)row["attemptCount"]!);
        Assert.Equal(12, (int)row["tokens"]!["input"]!);
        Assert.Equal("acme", (string?)row["metadata"]!["tenant"]);
        Assert.Equal(new string('a', 64), (string?)row["promptHash"]);
        Assert.Equal("acme", (string?)row["tenant"]);
        Assert.Equal("trivial", (string?)row["route"]!["tier"]);
        Assert.Equal([$"{gemini}/g-pro", $"{openai}/o-mini"], row["route"]!["candidates"]!.AsArray().Select(c => (string)c!));
        Assert.Equal("route 'trivial' -> chain 'fast'; configured order kept", (string?)row["route"]!["reason"]);
        Assert.Null(detail["prompt"]);

        var attempts = detail["attempts"]!.AsArray();
        Assert.Equal([(0, 1, "retried"), (0, 2, "fell_back"), (1, 1, "answered")],
            attempts.Select(a => ((int)a!["step"]!, (int)a["attempt"]!, (string)a["decision"]!)));
        var retried = attempts[0]!;
        Assert.Equal(gemini, (string?)retried["provider"]);
        Assert.Equal("g-pro", (string?)retried["model"]);
        Assert.Equal(t, DateTimeOffset.Parse((string)retried["startedAt"]!));
        Assert.Equal(t.AddMilliseconds(120), DateTimeOffset.Parse((string)retried["endedAt"]!));
        Assert.Equal(120, (int)retried["latencyMs"]!);
        Assert.True((bool)retried["callMade"]!);
        Assert.Equal("error", (string?)retried["outcome"]);
        Assert.Equal("rate_limit", (string?)retried["errorClass"]);
        Assert.Equal(429, (int)retried["httpStatus"]!);
        Assert.Equal(1000, (int)retried["retryAfterMs"]!);
        Assert.Equal(1000, (int)retried["waitMs"]!);
        Assert.Equal("retry 1 of 1", (string?)retried["note"]);
        Assert.Equal("429 RESOURCE_EXHAUSTED", (string?)retried["detail"]);
        Assert.Null(retried["tokens"]);
        var answered = attempts[2]!;
        Assert.Equal("ok", (string?)answered["outcome"]);
        Assert.Null(answered["errorClass"]);
        Assert.Equal(34, (int)answered["tokens"]!["output"]!);
        Assert.Equal(0.00042m, (decimal)answered["costUsd"]!);
    }

    [Fact]
    public async Task An_unknown_request_is_404_saying_so()
    {
        var id = Guid.NewGuid();

        var problem = await fixture.Client.GetJsonAsync($"/requests/{id}", HttpStatusCode.NotFound);

        Assert.Equal("Unknown request", (string?)problem["title"]);
        Assert.Contains(id.ToString(), (string)problem["detail"]!);
    }

    [Fact]
    public async Task A_request_id_that_is_not_a_guid_is_400_naming_requestId()
    {
        var problem = await fixture.Client.GetJsonAsync("/requests/not-a-guid", HttpStatusCode.BadRequest);

        Assert.Contains("GUID", (string)problem["errors"]!["requestId"]![0]!);
    }

    [Fact]
    public async Task Recent_requests_are_listed_newest_first_and_filtered()
    {
        var p = $"ops-{fixture.Run}-list-p";
        var q = $"ops-{fixture.Run}-list-q";
        var old = Request(RequestStatus.Succeeded, Now.AddHours(-3), Now.AddHours(-3), p, "m");
        var failed = Request(RequestStatus.Failed, Now.AddMinutes(-30), Now.AddMinutes(-29), p, "m");
        var ok = Request(RequestStatus.Succeeded, Now.AddMinutes(-20), Now.AddMinutes(-19), p, "m");
        var newest = Request(RequestStatus.Succeeded, Now.AddMinutes(-10), Now.AddMinutes(-9), p, "m");
        var other = Request(RequestStatus.Failed, Now.AddMinutes(-5), Now.AddMinutes(-4), q, "m");
        await fixture.SeedAsync(old, failed, ok, newest, other);

        Assert.Equal([newest.RequestId, ok.RequestId, failed.RequestId, old.RequestId], await Ids($"/requests?provider={p}"));
        Assert.Equal([failed.RequestId], await Ids($"/requests?provider={p}&status=failed"));
        Assert.Equal([newest.RequestId, ok.RequestId, failed.RequestId], await Ids($"/requests?provider={p}&since=1h"));
        var since = Uri.EscapeDataString(Now.AddMinutes(-25).ToString("O"));
        Assert.Equal([newest.RequestId, ok.RequestId], await Ids($"/requests?provider={p}&since={since}"));
        Assert.Equal([newest.RequestId, ok.RequestId], await Ids($"/requests?provider={p}&limit=2"));
        Assert.Equal([other.RequestId], await Ids($"/requests?provider={q}"));
    }

    [Fact]
    public async Task The_list_reports_the_filter_it_applied_with_the_default_limit()
    {
        var list = await fixture.Client.GetJsonAsync("/requests?status=parked");

        Assert.Equal(50, (int)list["filter"]!["limit"]!);
        Assert.Equal("parked", (string?)list["filter"]!["status"]);
        Assert.All(list["requests"]!.AsArray(), r => Assert.Equal("parked", (string?)r!["status"]));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=501", "limit")]
    [InlineData("limit=lots", "limit")]
    [InlineData("status=done", "status")]
    [InlineData("since=yesterday", "since")]
    public async Task A_bad_parameter_is_400_naming_it(string query, string parameter)
    {
        var problem = await fixture.Client.GetJsonAsync($"/requests?{query}", HttpStatusCode.BadRequest);

        var errors = problem["errors"]!.AsObject();
        Assert.Equal([parameter], errors.Select(e => e.Key));
    }

    private async Task<List<Guid>> Ids(string url)
    {
        var list = await fixture.Client.GetJsonAsync(url);
        return [.. list["requests"]!.AsArray().Select(r => Guid.Parse((string)r!["requestId"]!))];
    }
}
