using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Worker.Audit;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.IntegrationTests.Ops;
using Worker.Persistence;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.DeadLetters;

/// <summary>
/// Parking and replay end to end: requests fail while providers are down and are parked with a CompletionFailed
/// (deadLettered), ops replay them through the HTTP API once providers recover, and the simulator's call counts show
/// that nothing already answered is paid for twice.
/// </summary>
[Collection(DeadLetterCollection.Name)]
public sealed class DeadLetterTests(DeadLetterFixture fixture) : IAsyncLifetime
{
    private readonly DeadLetterFixture _f = fixture;

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    private long Calls(string target) => _f.Sim.GetCounters(target).Total;

    private void BothProvidersDown()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("502"));
    }

    private async Task<CompletionFailed> ParkAsync(CompletionRequested request)
    {
        var failed = await _f.Producer.RequestAsync<CompletionFailed>(request);
        Assert.Equal(FailureReasons.ProvidersExhausted, failed.Reason);
        Assert.True(failed.DeadLettered);
        return failed;
    }

    private async Task<Guid> ReplayAsync(object body, int expectedSelected, string? user = null)
    {
        var accepted = await _f.PostAsync("/dead-letters/replay", body, HttpStatusCode.Accepted, user);
        Assert.Equal(expectedSelected, (int)accepted["selected"]!);
        Assert.False((bool)accepted["dryRun"]!);
        return (Guid)accepted["operationId"]!;
    }

    [Fact]
    public async Task Fifty_requests_parked_while_both_providers_are_down_are_each_answered_once_by_a_replay_and_replaying_again_changes_nothing()
    {
        BothProvidersDown();
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var requests = Enumerable.Range(0, 50).Select(i => TestProducer.NewRequest($"bulk {i}", DeadLetterFixture.BulkChain)).ToList();
        await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));

        foreach (var request in requests)
        {
            var failed = Assert.IsType<CompletionFailed>(await _f.Producer.WaitForResultAsync(request.RequestId));
            Assert.True(failed.DeadLettered);
            Assert.Equal(FailureReasons.ProvidersExhausted, failed.Reason);
        }

        var filter = new { chain = DeadLetterFixture.BulkChain, since = since.ToString("O") };
        var listed = await _f.Client.GetJsonAsync($"/dead-letters?chain={DeadLetterFixture.BulkChain}&since={Uri.EscapeDataString(filter.since)}&limit=500");
        var items = listed["items"]!.AsArray();
        Assert.Equal(requests.Select(r => r.RequestId).Order(), items.Select(i => (Guid)i!["requestId"]!).Order());
        Assert.All(items, i => Assert.Equal(("parked", "providers_exhausted", "server", "openai"),
            ((string?)i!["status"], (string?)i["reason"], (string?)i["errorClass"], (string?)i["provider"])));
        var group = (string)items[0]!["group"]!;
        var groups = (await _f.Client.GetJsonAsync("/dead-letters/groups")).AsArray();
        var ours = Assert.Single(groups, g => (string?)g!["group"] == group)!;
        Assert.True((int)ours["count"]! >= 50);
        Assert.Equal(DeadLetterFixture.BulkChain, (string?)ours["chain"]);

        // The whole history is one call away: the message a replay sends and the attempt timeline.
        var detail = await _f.Client.GetJsonAsync($"/dead-letters/{requests[0].RequestId}");
        Assert.Equal("bulk 0", (string?)detail["message"]!["messages"]![1]!["content"]);
        Assert.Equal(7, detail["request"]!["attempts"]!.AsArray().Count); // 3 + 2 calls, then a last chance on each step
        Assert.Equal("parked", (string?)detail["request"]!["request"]!["status"]);

        var dryRun = await _f.PostAsync("/dead-letters/replay", new { filter, dryRun = true }, HttpStatusCode.OK);
        Assert.Equal(50, (int)dryRun["selected"]!);
        Assert.Null(dryRun["operationId"]);

        _f.Sim.Clear();
        var operationId = await ReplayAsync(new { filter }, 50, user: "alice");
        var operation = await _f.WaitForOperationAsync(operationId);

        Assert.Equal((50, 50, 0, "alice"), ((int)operation["total"]!, (int)operation["done"]!, (int)operation["skipped"]!, (string?)operation["requestedBy"]));
        Assert.Equal(50, (int)operation["outcomes"]!["succeeded"]!);
        foreach (var request in requests)
        {
            var results = await _f.Producer.WaitForResultsAsync(request.RequestId, 2);
            var answered = Assert.IsType<CompletionSucceeded>(results[1]);
            Assert.Equal(("gemini", 1), (answered.Provider, answered.Attempts));
        }

        // One successful call per request, and none to the fallback.
        Assert.Equal(50, Calls("gemini"));
        Assert.Equal(0, Calls("openai"));
        var row = await AuditDatabase.FindAsync(_f.Database, requests[0].RequestId);
        Assert.Equal((RequestStatus.Succeeded, 1), (row!.Status, row.ReplayCount));
        var replayed = await _f.Client.GetJsonAsync($"/dead-letters/{requests[0].RequestId}");
        Assert.Equal(("replayed", "alice", operationId), ((string?)replayed["item"]!["status"], (string?)replayed["item"]!["resolvedBy"], (Guid)replayed["item"]!["operationId"]!));
        Assert.Equal(operationId, (Guid)Assert.Single(replayed["operations"]!.AsArray())!["id"]!);

        // The same selection again, by filter and by ids: nothing is parked any more, so nothing is sent.
        var again = await ReplayAsync(new { filter }, 0);
        var byIds = await ReplayAsync(new { requestIds = requests.Select(r => r.RequestId) }, 0);
        // Both completed having sent nothing (total 0), so no call can follow: nothing to wait for.
        foreach (var nothingSent in new[] { await _f.WaitForOperationAsync(again), await _f.WaitForOperationAsync(byIds) })
            Assert.Equal(("completed", 0, 0), ((string?)nothingSent["status"], (int)nothingSent["total"]!, (int)nothingSent["done"]!));
        Assert.Equal(50, Calls("gemini"));
        Assert.All(requests, r => Assert.Equal(2, _f.Producer.ResultCount(r.RequestId)));
    }

    [Fact]
    public async Task A_duplicate_delivery_of_a_succeeded_request_republishes_the_stored_result_with_zero_provider_calls()
    {
        var request = TestProducer.NewRequest("say it once");
        var first = await _f.Producer.RequestAsync<CompletionSucceeded>(request);
        _f.Sim.Clear();

        await _f.Producer.PublishAsync(request);
        var results = await _f.Producer.WaitForResultsAsync(request.RequestId, 2);

        var second = Assert.IsType<CompletionSucceeded>(results[1]);
        Assert.Equal((first.Text, first.Attempts, first.CompletedAt, first.InputTokens), (second.Text, second.Attempts, second.CompletedAt, second.InputTokens));
        Assert.Equal("acme", second.Metadata!["tenant"]);
        Assert.Equal(0, Calls("gemini") + Calls("openai"));
    }

    [Fact]
    public async Task A_duplicate_delivery_of_a_failed_request_that_was_not_parked_republishes_its_failure()
    {
        // Blocked content is not in DeadLetters:ParkReasons by default: it fails for good, with its own reason.
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("safety"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("safety"));
        var request = TestProducer.NewRequest("blocked");
        var first = await _f.Producer.RequestAsync<CompletionFailed>(request);
        Assert.Equal((FailureReasons.ContentBlocked, false), (first.Reason, first.DeadLettered));
        _f.Sim.Clear();

        await _f.Producer.PublishAsync(request);

        var second = Assert.IsType<CompletionFailed>((await _f.Producer.WaitForResultsAsync(request.RequestId, 2))[1]);
        Assert.Equal((first.Reason, first.FailedAt, first.Error), (second.Reason, second.FailedAt, second.Error));
        Assert.Equal(0, Calls("gemini") + Calls("openai"));
    }

    [Fact]
    public async Task A_redirected_replay_runs_on_the_other_chain()
    {
        BothProvidersDown();
        var request = TestProducer.NewRequest("redirect me");
        await ParkAsync(request);

        // Gemini stays down for hours: send the request to the chain without it.
        _f.Sim.ClearProfile("openai");
        _f.Sim.ClearCounters();
        var operationId = await ReplayAsync(new { requestIds = new[] { request.RequestId }, chain = DeadLetterFixture.OpenAIOnly }, 1);
        var operation = await _f.WaitForOperationAsync(operationId);

        var answered = Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(request.RequestId, 2))[1]);
        Assert.Equal(("openai", "gpt-4o-mini", false), (answered.Provider, answered.Model, answered.FallbackUsed));
        Assert.Equal(DeadLetterFixture.OpenAIOnly, (string?)operation["chain"]);
        Assert.Equal(0, Calls("gemini"));
        Assert.Equal(1, Calls("openai"));
        Assert.Equal(DeadLetterFixture.OpenAIOnly, (await AuditDatabase.FindAsync(_f.Database, request.RequestId))!.Chain);
    }

    [Fact]
    public async Task A_replay_to_an_unknown_chain_is_refused_and_nothing_is_recorded()
    {
        using var response = await _f.Client.PostAsJsonAsync("/dead-letters/replay", new { filter = new { }, chain = "no-such-chain" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("no-such-chain", await response.Content.ReadAsStringAsync());

        using var typo = await _f.Client.PostAsJsonAsync("/dead-letters/replay", new { filter = new { reasons = "providers_exhausted" } });
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        Assert.Contains("filter.reasons", await typo.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_poison_message_from_the_error_queue_is_parked_with_its_reason_and_can_be_archived()
    {
        await using var amqp = await RawAmqp.ConnectAsync();
        var poison = $"{{\"requestId\": \"not-a-guid\", \"poison\": \"{Guid.NewGuid():N}\"";
        await amqp.PublishAsync("Worker.Contracts:CompletionRequested", "", poison, "application/vnd.masstransit+json");

        var row = await DeadLetterDb.WaitForBodyAsync(_f.Database, poison);
        var id = (Guid)row["id"]!;
        var detail = await _f.Client.GetJsonAsync($"/dead-letters/{id}");
        Assert.Equal(("error_queue", "parked", "undeserializable"),
            ((string?)detail["item"]!["source"], (string?)detail["item"]!["status"], (string?)detail["item"]!["reason"]));
        Assert.Equal("System.Text.Json.JsonReaderException", (string?)detail["item"]!["exceptionType"]);
        Assert.Equal(poison, (string?)detail["body"]);
        Assert.NotNull(detail["headers"]!["MT-Fault-Message"]);
        Assert.Null(detail["request"]);

        // Nothing to replay in it: a replay selects nothing, an archive resolves it.
        var replay = await _f.PostAsync("/dead-letters/replay", new { requestIds = new[] { id }, dryRun = true }, HttpStatusCode.OK);
        Assert.Equal(0, (int)replay["selected"]!);
        var archived = await _f.PostAsync("/dead-letters/archive", new { requestIds = new[] { id } }, HttpStatusCode.OK, user: "bob");
        Assert.Equal(1, (int)archived["selected"]!);

        var after = await _f.Client.GetJsonAsync($"/dead-letters/{id}");
        Assert.Equal(("archived", "bob"), ((string?)after["item"]!["status"], (string?)after["item"]!["resolvedBy"]));
        var operation = await _f.Client.GetJsonAsync($"/dead-letters/operations/{(Guid)archived["operationId"]!}");
        Assert.Equal(("archive", "completed", "bob", 1), ((string?)operation["kind"], (string?)operation["status"], (string?)operation["requestedBy"], (int)operation["done"]!));
    }

    [Fact]
    public async Task Archiving_a_parked_request_resolves_it_as_failed_so_audit_retention_can_remove_it()
    {
        BothProvidersDown();
        var request = TestProducer.NewRequest("give up on me");
        await ParkAsync(request);

        var archived = await _f.PostAsync("/dead-letters/archive", new { requestIds = new[] { request.RequestId } }, HttpStatusCode.OK);

        Assert.Equal(1, (int)archived["selected"]!);
        Assert.Equal("archived", await DeadLetterDb.StatusAsync(_f.Database, request.RequestId));
        Assert.Equal(RequestStatus.Failed, (await AuditDatabase.FindAsync(_f.Database, request.RequestId))!.Status);
    }

    [Fact]
    public async Task An_operation_left_unfinished_by_a_stopped_worker_is_resumed()
    {
        BothProvidersDown();
        var request = TestProducer.NewRequest("resume me");
        await ParkAsync(request);
        _f.Sim.Clear();

        // What a worker stopped in the middle of a replay leaves behind: a running operation with an item not yet sent.
        var operationId = Guid.NewGuid();
        await using (var batch = _f.Database.CreateBatch())
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("""
                INSERT INTO dead_letter_operations (id, kind, status, requested_by, requested_at, selection, total, done, skipped, started_at)
                VALUES ($1, 'replay', 'running', 'before-restart', now(), '{}', 1, 0, 0, now())
                """) { Parameters = { new NpgsqlParameter { Value = operationId } } });
            batch.BatchCommands.Add(new NpgsqlBatchCommand("""
                INSERT INTO dead_letter_operation_items (operation_id, dead_letter_id, position, state) VALUES ($1, $2, 1, 'pending')
                """) { Parameters = { new NpgsqlParameter { Value = operationId }, new NpgsqlParameter { Value = request.RequestId } } });
            await batch.ExecuteNonQueryAsync();
        }

        var operation = await _f.WaitForOperationAsync(operationId);

        Assert.Equal((1, 1), ((int)operation["done"]!, (int)operation["outcomes"]!["succeeded"]!));
        Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(request.RequestId, 2))[1]);
        Assert.Equal(1, Calls("gemini"));
    }

    [Theory]
    [InlineData("POST", "/dead-letters/replay")]
    [InlineData("POST", "/dead-letters/archive")]
    [InlineData("GET", "/dead-letters")]
    [InlineData("GET", "/dead-letters/groups")]
    public async Task Without_the_ops_token_dead_letter_routes_are_refused(string method, string route)
    {
        // A body that would be a 400 must still be a 401: the token is checked before anything is read.
        using var request = new HttpRequestMessage(new HttpMethod(method), route);
        if (method == "POST")
            request.Content = JsonContent.Create(new { filter = new { } });
        using var response = await _f.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task An_unauthenticated_replay_records_no_operation()
    {
        await using var count = _f.Database.CreateCommand("SELECT count(*) FROM dead_letter_operations");
        var before = (long)(await count.ExecuteScalarAsync())!;

        using var response = await _f.Anonymous.PostAsJsonAsync("/dead-letters/replay", new { filter = new { } });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before, (long)(await count.ExecuteScalarAsync())!);
    }

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }
}
