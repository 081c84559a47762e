using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Telemetry;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.Telemetry;

/// <summary>The spans a chain run makes, heard by a listener on the Worker source (process-wide: filtered by request id).</summary>
public sealed class CallSpanTests : IDisposable
{
    private readonly DrivenTimeProvider _time = new();
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public CallSpanTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == WorkerActivity.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private static ChainStep Step(int index, string provider, int maxRetries) =>
        new(index, provider, provider + "-model", maxRetries, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30),
            JitterRatio: 0.2, MaxRetryAfter: TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20));

    private async Task<(ChainOutcome Outcome, List<Activity> Spans)> Run(CompletionRequested request, params ScriptedProvider[] providers)
    {
        var runner = new ChainRunner(new FakeRegistry(providers), Guards.Breakers(_time), Guards.Budgets(_time), Guards.ChainRun(), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5));
        ChainStep[] steps = [Step(0, "gemini", maxRetries: 1), Step(1, "openai", maxRetries: 1)];
        var outcome = await _time.Drive(Task.Run(() => runner.RunAsync(request, steps, CancellationToken.None)));
        var id = request.RequestId.ToString();
        return (outcome, [.. _stopped.Where(a => Equals(a.GetTagItem(WorkerActivity.Tags.RequestId), id)).OrderBy(a => a.StartTimeUtc)]);
    }

    private static CompletionRequested Request() =>
        new(Guid.NewGuid(), "conv-1", [new ChatMessage("user", "a secret prompt")], MaxOutputTokens: 100, Temperature: 0.3);

    [Fact]
    public async Task An_answered_call_has_a_chat_span_with_the_GenAI_attributes_under_the_chain_span()
    {
        var request = Request();

        var (outcome, spans) = await Run(request, new ScriptedProvider("gemini", Ok("a secret answer")), new ScriptedProvider("openai", Ok()));

        Assert.True(outcome.Succeeded);
        var chain = Assert.Single(spans, s => s.DisplayName == "worker.chain default");
        var call = Assert.Single(spans, s => s.DisplayName == "chat gemini-model");
        Assert.Equal(ActivityKind.Client, call.Kind);
        Assert.Equal(chain.SpanId, call.ParentSpanId);
        Assert.Equal(chain.TraceId, call.TraceId);
        Assert.Equal("chat", call.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("gemini", call.GetTagItem("gen_ai.system"));
        Assert.Equal("gemini", call.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("gemini-model", call.GetTagItem("gen_ai.request.model"));
        Assert.Equal("model", call.GetTagItem("gen_ai.response.model"));
        Assert.Equal(10, call.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(5, call.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(100, call.GetTagItem("gen_ai.request.max_tokens"));
        Assert.Equal(new[] { "STOP" }, call.GetTagItem("gen_ai.response.finish_reasons"));
        Assert.Equal(0, call.GetTagItem("worker.step"));
        Assert.Equal(1, call.GetTagItem("worker.attempt"));
        Assert.Equal("answered", call.GetTagItem("worker.decision"));
        Assert.Null(call.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Unset, call.Status);
        Assert.Equal("answered", chain.GetTagItem("worker.outcome"));
        // Neither the prompt nor the answer is in any attribute.
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), t => t.Value?.ToString()?.Contains("secret", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Failed_calls_carry_the_error_class_the_error_status_and_the_decision_taken_after_them()
    {
        var request = Request();

        var (outcome, spans) = await Run(request, new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503)), new ScriptedProvider("openai", Fail(ErrorClass.Auth, 401)));

        Assert.False(outcome.Succeeded);
        var calls = spans.Where(s => s.DisplayName.StartsWith("chat ", StringComparison.Ordinal)).ToList();
        // gemini: a retry, then the fallback; openai: auth is not retried and no step is left; no last chance for auth, one for gemini's 503.
        Assert.Equal(
            [("gemini-model", 1, "retried"), ("gemini-model", 2, "fell_back"), ("openai-model", 1, "gave_up"), ("gemini-model", 3, "gave_up")],
            calls.Select(c => ((string)c.GetTagItem("gen_ai.request.model")!, (int)c.GetTagItem("worker.attempt")!, (string)c.GetTagItem("worker.decision")!)));
        Assert.All(calls, c => Assert.Equal(ActivityStatusCode.Error, c.Status));
        Assert.Equal(["server", "server", "auth", "server"], calls.Select(c => (string)c.GetTagItem("error.type")!));
        Assert.Equal([503, 503, 401, 503], calls.Select(c => (int)c.GetTagItem("http.response.status_code")!));
        var chain = Assert.Single(spans, s => s.DisplayName == "worker.chain default");
        Assert.Equal(ActivityStatusCode.Error, chain.Status);
        Assert.Equal("failed", chain.GetTagItem("worker.outcome"));
        Assert.Equal(outcome.FailureReason, chain.GetTagItem("worker.failure_reason"));
    }
}
