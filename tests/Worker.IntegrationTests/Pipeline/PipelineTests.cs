using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Pipeline;

/// <summary>
/// The pipeline issue's scenarios end to end: a producer publishes to RabbitMQ, the worker calls the simulator over
/// HTTP, and exactly one result comes back. Every test checks the simulator's call counts, so hidden retries
/// (SDK, HTTP handler or bus) would show.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineTests(PipelineFixture fixture) : IDisposable
{
    private readonly PipelineFixture _f = Reset(fixture);

    private static PipelineFixture Reset(PipelineFixture fixture)
    {
        fixture.Sim.Clear();
        return fixture;
    }

    private long Calls(string target) => _f.Sim.GetCounters(target).Total;

    [Fact]
    public async Task Healthy_gemini_answers_on_the_first_call()
    {
        var request = TestProducer.NewRequest("What is the capital of France?");

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(request);

        Assert.Equal("gemini", result.Provider);
        Assert.Equal("gemini-2.5-pro", result.Model);
        Assert.False(result.FallbackUsed);
        Assert.Equal(1, result.Attempts);
        Assert.StartsWith("Simulated reply from gemini/gemini-2.5-pro", result.Text);
        Assert.Equal(request.ConversationId, result.ConversationId);
        Assert.Equal("acme", result.Metadata!["tenant"]);
        Assert.True(result.InputTokens > 0);
        Assert.Equal(1, Calls("gemini"));
        Assert.Equal(0, Calls("openai"));
    }

    [Fact]
    public async Task Server_error_then_success_is_answered_by_gemini_after_one_retry()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.Scripted("500"));

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());

        Assert.Equal("gemini", result.Provider);
        Assert.False(result.FallbackUsed);
        Assert.Equal(2, result.Attempts);
        Assert.Equal(2, Calls("gemini"));
        Assert.Equal(0, Calls("openai"));
    }

    [Fact]
    public async Task Persistent_503_falls_back_to_openai_after_the_configured_retries()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());

        Assert.Equal("openai", result.Provider);
        Assert.Equal("o3-mini", result.Model);
        Assert.True(result.FallbackUsed);
        Assert.Equal(4, result.Attempts);
        Assert.Equal(3, Calls("gemini"));
        Assert.Equal(1, Calls("openai"));
    }

    [Fact]
    public async Task Rate_limit_retry_waits_at_least_the_retry_delay_gemini_asked_for()
    {
        _f.Sim.SetProfile("gemini", new FaultProfile { Script = ["429"], RetryAfterSeconds = 1 });

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());

        Assert.Equal("gemini", result.Provider);
        Assert.Equal(2, result.Attempts);
        var calls = _f.Sim.Recent("gemini").OrderBy(c => c.Sequence).ToList();
        Assert.Equal(2, calls.Count);
        // A lower bound only: the worker must not call before the provider's retryDelay has passed.
        Assert.True(calls[1].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromSeconds(1),
            $"retried after {(calls[1].ReceivedAt - calls[0].ReceivedAt).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Hanging_gemini_times_out_and_openai_answers()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("hang"));

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());

        Assert.Equal("openai", result.Provider);
        Assert.True(result.FallbackUsed);
        Assert.Equal(1, Calls("gemini"));
        Assert.Equal(1, Calls("openai"));
    }

    [Theory]
    [InlineData("malformed", 2)]
    [InlineData("empty", 2)]
    [InlineData("safety", 1)]
    public async Task Unusable_gemini_output_falls_back_after_one_more_call_for_bad_output_and_none_for_a_block(string fault, int geminiCalls)
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail(fault));

        var result = await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest());

        Assert.Equal("openai", result.Provider);
        Assert.Equal(geminiCalls + 1, result.Attempts);
        Assert.Equal(geminiCalls, Calls("gemini"));
        Assert.Equal(1, Calls("openai"));
    }

    [Fact]
    public async Task Both_providers_down_fails_with_providers_exhausted_and_is_parked()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("502"));
        var request = TestProducer.NewRequest();

        var result = await _f.Producer.RequestAsync<CompletionFailed>(request);

        // Each step's configured calls, then one last chance on each before giving up.
        Assert.Equal(FailureReasons.ProvidersExhausted, result.Reason);
        Assert.Equal(7, result.Attempts);
        // providers_exhausted is in DeadLetters:ParkReasons by default: the producer learns the request is parked.
        Assert.True(result.DeadLettered);
        Assert.Contains("server (HTTP 503) x4", result.Error);
        Assert.Contains("server (HTTP 502) x3", result.Error);
        Assert.Equal(4, Calls("gemini"));
        Assert.Equal(3, Calls("openai"));
        Assert.Equal(1, _f.Producer.ResultCount(request.RequestId));
    }

    [Fact]
    public async Task Invalid_request_fails_naming_the_field_without_calling_a_provider()
    {
        var request = TestProducer.NewRequest() with { Temperature = 7 };

        var result = await _f.Producer.RequestAsync<CompletionFailed>(request);

        Assert.Equal(FailureReasons.InvalidRequest, result.Reason);
        Assert.Contains("temperature", result.Error);
        Assert.Equal(0, result.Attempts);
        Assert.Equal(0, Calls("gemini") + Calls("openai"));
    }

    [Fact]
    public async Task Unknown_chain_is_an_invalid_request()
    {
        var result = await _f.Producer.RequestAsync<CompletionFailed>(TestProducer.NewRequest(chain: "no-such-chain"));

        Assert.Equal(FailureReasons.InvalidRequest, result.Reason);
        Assert.Contains("chain 'no-such-chain'", result.Error);
    }

    [Fact]
    public async Task Past_deadline_fails_without_a_provider_call()
    {
        var request = TestProducer.NewRequest() with { Deadline = DateTimeOffset.UtcNow.AddMinutes(-1) };

        var result = await _f.Producer.RequestAsync<CompletionFailed>(request);

        Assert.Equal(FailureReasons.DeadlineExceeded, result.Reason);
        Assert.Equal(0, Calls("gemini") + Calls("openai"));
    }

    public void Dispose() => _f.Sim.Clear();
}
