using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using Worker.Chain;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.IntegrationTests.Ops;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Requests;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.DeadLetters;

/// <summary>
/// A parked request has its outcome: only an ops replay runs it again. Every other delivery (a duplicate publish, a
/// redelivery) re-publishes the stored failure without a call, and the answer a replay produces is a new, distinguishable
/// result that a consumer dropping duplicates by message id still receives.
/// </summary>
[Collection(DeadLetterCollection.Name)]
public sealed class ParkedOutcomeTests(DeadLetterFixture fixture) : IAsyncLifetime
{
    private readonly DeadLetterFixture _f = fixture;

    public Task InitializeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }

    private long Calls() => _f.Sim.GetCounters().Total;

    private async Task<CompletionFailed> ParkAsync(CompletionRequested request)
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("502"));
        var failed = await _f.Producer.RequestAsync<CompletionFailed>(request);
        Assert.True(failed.DeadLettered);
        _f.Sim.Clear();
        return failed;
    }

    [Fact]
    public async Task A_parked_request_published_again_once_providers_recovered_gets_its_stored_failure_and_costs_no_call()
    {
        var request = TestProducer.NewRequest($"parked duplicate {Guid.NewGuid():N}", DeadLetterFixture.BulkChain);
        var parked = await ParkAsync(request);

        await _f.Producer.PublishAsync(request);
        var results = await _f.Producer.WaitForResultsAsync(request.RequestId, 2);

        var again = Assert.IsType<CompletionFailed>(results[1]);
        Assert.Equal((parked.Reason, parked.FailedAt, true, 0), (again.Reason, again.FailedAt, again.DeadLettered, again.ReplayCount));
        Assert.Equal([RequestResult.MessageId(request.RequestId), RequestResult.MessageId(request.RequestId)], _f.Producer.MessageIds(request.RequestId));
        Assert.Equal(0, Calls());
        var row = await AuditDatabase.FindAsync(_f.Database, request.RequestId);
        Assert.Equal(RequestStatus.Parked, row!.Status);
        var item = await _f.Client.GetJsonAsync($"/dead-letters/{request.RequestId}");
        Assert.Equal("parked", (string?)item["item"]!["status"]);
    }

    [Fact]
    public async Task A_replayed_answer_has_its_own_message_id_names_the_failure_it_supersedes_and_is_republished_unchanged()
    {
        var request = TestProducer.NewRequest($"replayed answer {Guid.NewGuid():N}", DeadLetterFixture.BulkChain);
        await ParkAsync(request);

        var accepted = await _f.PostAsync("/dead-letters/replay", new { requestIds = new[] { request.RequestId } }, HttpStatusCode.Accepted);
        await _f.WaitForOperationAsync((Guid)accepted["operationId"]!);
        var results = await _f.Producer.WaitForResultsAsync(request.RequestId, 2);

        var answered = Assert.IsType<CompletionSucceeded>(results[1]);
        var failureId = RequestResult.MessageId(request.RequestId);
        var answerId = RequestResult.MessageId(request.RequestId, 1);
        Assert.NotEqual(failureId, answerId);
        Assert.Equal([failureId, answerId], _f.Producer.MessageIds(request.RequestId));
        Assert.Equal((1, failureId), (answered.ReplayCount, answered.Supersedes));

        // Delivered again later, the request gets the newest outcome, under the same id as before: a duplicate to drop.
        await _f.Producer.PublishAsync(request);
        var all = await _f.Producer.WaitForResultsAsync(request.RequestId, 3);
        Assert.Equal(answered.Text, Assert.IsType<CompletionSucceeded>(all[2]).Text);
        Assert.Equal(answerId, _f.Producer.MessageIds(request.RequestId)[2]);
        Assert.Equal(1, _f.Sim.GetCounters("gemini").Total);
    }

    [Fact]
    public async Task A_replay_started_while_every_breaker_of_its_chain_is_open_waits_for_one_and_parks_nothing_again()
    {
        var requests = Enumerable.Range(0, 10).Select(i => TestProducer.NewRequest($"replay behind open breakers {i} {Guid.NewGuid():N}", DeadLetterFixture.BulkChain)).ToList();
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("502"));
        await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));
        foreach (var request in requests)
            Assert.True(Assert.IsType<CompletionFailed>(await _f.Producer.WaitForResultAsync(request.RequestId)).DeadLettered);
        // The providers are back, but this instance's breakers have not seen it yet.
        _f.Sim.Clear();
        var breakers = _f.Worker.Services.GetRequiredService<CircuitBreakers>();
        (string Provider, string Model)[] steps = [("gemini", "gemini-2.5-pro"), ("openai", "o3-mini")];
        try
        {
            foreach (var (provider, model) in steps)
            {
                for (var i = 0; i < 10; i++)
                    await breakers.PingFailedAsync(provider, model, ErrorClass.Server);
                Assert.Equal(CircuitState.Isolated, breakers.StateOf(provider, model));
            }

            var accepted = await _f.PostAsync("/dead-letters/replay", new { requestIds = requests.Select(r => r.RequestId) }, HttpStatusCode.Accepted);
            var operationId = (Guid)accepted["operationId"]!;
            await Eventually.TrueAsync(async () => (string?)(await _f.Client.GetJsonAsync($"/dead-letters/operations/{operationId}"))["status"] == "running",
                TestEnvironment.ResultTimeout, "the replay to start");
            await breakers.PingSucceededAsync("gemini", "gemini-2.5-pro");
            await _f.WaitForOperationAsync(operationId);

            foreach (var request in requests)
                Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(request.RequestId, 2))[1]);
            Assert.Equal(requests.Count, _f.Sim.GetCounters("gemini").Total);
            await using var parkCounts = _f.Database.CreateCommand("SELECT max(park_count) FROM dead_letters WHERE request_id = ANY($1)");
            parkCounts.Parameters.Add(new Npgsql.NpgsqlParameter { Value = requests.Select(r => r.RequestId).ToArray() });
            Assert.Equal(1, (int)(await parkCounts.ExecuteScalarAsync())!);
        }
        finally
        {
            foreach (var (provider, model) in steps)
                await breakers.PingSucceededAsync(provider, model);
        }
    }

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }
}
