using System.Diagnostics.Metrics;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;
using Worker.DeadLetters;
using Worker.Metrics;
using Worker.Messaging;
using Worker.Persistence;
using Worker.Providers;
using Worker.ProviderHealth;
using Worker.Requests;
using Worker.Tenants;
using Worker.Tests.Fakes;
using static Worker.Tests.Fakes.ScriptedProvider;

namespace Worker.Tests.Messaging;

/// <summary>
/// The consumer's own steps (validate, claim, run the chain, finish, publish) on MassTransit's in-memory test harness,
/// with the request's durable state in memory and providers scripted. The integration tests run the same consumer on
/// RabbitMQ and PostgreSQL against the provider simulator.
/// </summary>
public sealed class CompletionRequestedConsumerTests : IAsyncDisposable
{
    private readonly Dictionary<string, ScriptedProvider> _providers = new()
    {
        ["gemini"] = new("gemini", Ok("from gemini")),
        ["openai"] = new("openai", Ok("from openai")),
    };
    private const string Patient = "patient";
    private const string Unhurried = "unhurried";
    private const string Acme = "acme";
    private readonly TenantConcurrency _tenants = new(
        Options.Create(new TenantLimitsOptions { Tenants = { [Acme] = new TenantLimitOptions { MaxConcurrency = 1 } } }),
        new LiveInstances(), TimeProvider.System, new FixedRandom(0.5));
    private readonly MeterListener _listener = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Instrument, long Value, Dictionary<string, object?> Tags)> _measured = new();
    private readonly MemoryLifecycle _lifecycle = new();
    private readonly LoadShedder _shedder = new(Options.Create(new SheddingOptions { MaxQueueDepth = 100 }), TimeProvider.System);
    private ChainRunOptions? _run;
    private readonly ServiceProvider _services;
    private readonly ITestHarness _harness;

    public CompletionRequestedConsumerTests()
    {
        var chains = new ChainsOptions
        {
            [ChainsOptions.DefaultChain] =
            [
                new ChainStepOptions { Provider = "gemini", Model = "gemini-2.5-pro", MaxRetries = 0 },
                new ChainStepOptions { Provider = "openai", Model = "o3-mini", MaxRetries = 0 },
            ],
            // One step with a retry: a long Retry-After defers the request instead of falling back.
            [Patient] = [new ChainStepOptions { Provider = "gemini", Model = "gemini-2.5-pro", MaxRetries = 1 }],
            // Needs an hour to answer: any deadline sooner than that cannot be met.
            [Unhurried] = [new ChainStepOptions { Provider = "gemini", Model = "gemini-2.5-pro", MinTimeToAnswer = TimeSpan.FromHours(1) }],
        };
        _services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddSingleton<IHostApplicationLifetime, StillRunning>()
            .AddSingleton(new ChainCatalog(Options.Create(chains), Options.Create(new ProvidersOptions())))
            .AddSingleton(sp => Guards.Router(sp.GetRequiredService<ChainCatalog>()))
            .AddMetrics()
            .AddSingleton<WorkerMetrics>()
            .AddSingleton(sp => new ChainRunner(new Registry(_providers), Guards.Breakers(TimeProvider.System), Guards.Budgets(TimeProvider.System),
                Guards.ChainRun(_run), TimeProvider.System, NullLogger<ChainRunner>.Instance, new FixedRandom(0.5)))
            .AddSingleton<IRequestLifecycle>(_lifecycle)
            .AddSingleton(sp => new ClaimLeases(_lifecycle, Options.Create(new ClaimLeaseOptions()), TimeProvider.System, NullLogger<ClaimLeases>.Instance))
            .AddSingleton(Options.Create(new RequestLimits()))
            .AddSingleton(Options.Create(new MessagingOptions()))
            .AddSingleton<IParking>(new ChainParking(Options.Create(new DeadLettersOptions())))
            .AddSingleton(_tenants)
            .AddSingleton(_shedder)
            .AddMassTransitTestHarness(x => x.AddConsumer<CompletionRequestedConsumer>())
            .BuildServiceProvider(validateScopes: true);
        _harness = _services.GetRequiredService<ITestHarness>();
        var meters = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == WorkerMetrics.MeterName && instrument.Meter.Scope == meters)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => _measured.Enqueue((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        _listener.Start();
    }

    private IReadOnlyList<(long Value, Dictionary<string, object?> Tags)> Measured(string instrument) =>
        [.. _measured.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags))];

    private static CompletionRequested Request(string? chain = null, string content = "hi") =>
        new(Guid.NewGuid(), "conv-1", [new ChatMessage("user", content)], chain);

    private async Task<T> ResultAsync<T>(Guid requestId) where T : class
    {
        Assert.True(await _harness.Published.Any<T>(m => RequestIdOf(m.Context.Message) == requestId), $"no {typeof(T).Name} for {requestId}");
        return _harness.Published.Select<T>(m => RequestIdOf(m.Context.Message) == requestId).Single().Context.Message;
    }

    private static Guid RequestIdOf(object message) => message switch
    {
        CompletionSucceeded s => s.RequestId,
        CompletionFailed f => f.RequestId,
        CompletionDelayed d => d.RequestId,
        _ => Guid.Empty,
    };

    [Fact]
    public async Task A_valid_request_is_claimed_run_finished_and_answered_once()
    {
        await _harness.Start();
        var request = Request();

        await _harness.Bus.Publish(request);

        var result = await ResultAsync<CompletionSucceeded>(request.RequestId);
        Assert.Equal(("from gemini", "gemini", false, ResultSources.Provider), (result.Text, result.Provider, result.FallbackUsed, result.Source));
        Assert.Equal("provider", result.Source);
        Assert.Equal(RequestResult.MessageId(request.RequestId), _harness.Published.Select<CompletionSucceeded>().Single().Context.MessageId);
        Assert.Equal(["claim", "complete"], _lifecycle.Calls(request.RequestId));
        Assert.Equal(1, _providers["gemini"].Calls);
    }

    [Fact]
    public async Task Past_the_depth_limit_a_sheddable_request_is_answered_shed_once_and_stored_without_a_call()
    {
        await _harness.Start();
        _shedder.Observe(250);
        var sheddable = Request() with { Sheddable = true };
        var wanted = Request();

        await _harness.Bus.Publish(sheddable);
        await _harness.Bus.Publish(wanted);

        var shed = await ResultAsync<CompletionFailed>(sheddable.RequestId);
        Assert.Equal((FailureReasons.Shed, 0, false), (shed.Reason, shed.Attempts, shed.DeadLettered));
        Assert.Contains("250 waiting requests (Shedding:MaxQueueDepth is 100)", shed.Error, StringComparison.Ordinal);
        Assert.Equal(["claim", "complete"], _lifecycle.Calls(sheddable.RequestId));
        Assert.Equal("from gemini", (await ResultAsync<CompletionSucceeded>(wanted.RequestId)).Text);
        // Only the request that was not sheddable reached a provider.
        Assert.Equal(1, _providers["gemini"].Calls);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_replayed_or_resumed_sheddable_request_runs_whatever_the_backlog(bool replay)
    {
        await _harness.Start();
        _shedder.Observe(250);
        var request = Request() with { Sheddable = true };
        (replay ? _lifecycle.Replayed : _lifecycle.Resumed).Add(request.RequestId);

        await _harness.Bus.Publish(request);

        Assert.Equal("from gemini", (await ResultAsync<CompletionSucceeded>(request.RequestId)).Text);
        Assert.Equal(1, _providers["gemini"].Calls);
    }

    [Fact]
    public async Task An_invalid_request_is_rejected_without_a_claim_or_a_call()
    {
        await _harness.Start();
        var request = Request(chain: "no-such-chain");

        await _harness.Bus.Publish(request);

        var failed = await ResultAsync<CompletionFailed>(request.RequestId);
        Assert.Equal(FailureReasons.InvalidRequest, failed.Reason);
        Assert.Contains("no-such-chain", failed.Error, StringComparison.Ordinal);
        Assert.Equal(["reject"], _lifecycle.Calls(request.RequestId));
        Assert.Equal(0, _providers["gemini"].Calls);
    }

    [Fact]
    public async Task A_finished_request_republishes_its_stored_result_and_calls_nobody()
    {
        await _harness.Start();
        var request = Request();
        var stored = new CompletionSucceeded(request.RequestId, "conv-1", "stored answer", "openai", "o3-mini", true, 2, 1, 1, null,
            DateTimeOffset.UnixEpoch);
        _lifecycle.Finished[request.RequestId] = stored;

        await _harness.Bus.Publish(request);

        Assert.Equal("stored answer", (await ResultAsync<CompletionSucceeded>(request.RequestId)).Text);
        Assert.Equal(["claim"], _lifecycle.Calls(request.RequestId));
        Assert.Equal(0, _providers["gemini"].Calls + _providers["openai"].Calls);
    }

    [Fact]
    public async Task A_reused_id_with_another_payload_is_refused_under_a_message_id_of_its_own()
    {
        await _harness.Start();
        var request = Request(content: "another payload");
        _lifecycle.Conflicting.Add(request.RequestId);

        await _harness.Bus.Publish(request);

        var refusal = await ResultAsync<CompletionFailed>(request.RequestId);
        Assert.Equal(FailureReasons.InvalidRequest, refusal.Reason);
        Assert.NotEqual(RequestResult.MessageId(request.RequestId), _harness.Published.Select<CompletionFailed>().Single().Context.MessageId);
        Assert.Equal(0, _providers["gemini"].Calls);
    }

    [Fact]
    public async Task A_delivery_of_a_request_running_elsewhere_publishes_nothing_and_calls_nobody()
    {
        await _harness.Start();
        var request = Request();
        _lifecycle.RunningElsewhere.Add(request.RequestId);

        await _harness.Bus.Publish(request);

        Assert.True(await _harness.Consumed.Any<CompletionRequested>(m => m.Context.Message.RequestId == request.RequestId));
        Assert.False(await _harness.Published.Any<CompletionSucceeded>());
        Assert.False(await _harness.Published.Any<CompletionFailed>());
        Assert.Equal(0, _providers["gemini"].Calls);
    }

    [Fact]
    public async Task When_the_primary_fails_the_fallback_answers_and_the_result_says_so()
    {
        _providers["gemini"] = new ScriptedProvider("gemini", Fail(ErrorClass.Server, 503));
        await _harness.Start();
        var request = Request();

        await _harness.Bus.Publish(request);

        var result = await ResultAsync<CompletionSucceeded>(request.RequestId);
        Assert.Equal(("from openai", "openai", true, 2), (result.Text, result.Provider, result.FallbackUsed, result.Attempts));
    }

    [Fact]
    public async Task A_deferred_run_publishes_one_delay_notice_with_the_resume_time_and_no_result()
    {
        _run = new ChainRunOptions { InProcessWaitLimit = TimeSpan.FromSeconds(5), MaxDeferral = TimeSpan.FromMinutes(10) };
        _providers["gemini"] = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)));
        await _harness.Start();
        var request = Request(Patient) with { Metadata = new Dictionary<string, string> { ["crm"] = "hubspot" } };
        var published = DateTimeOffset.UtcNow;

        await _harness.Bus.Publish(request);

        var notice = await ResultAsync<CompletionDelayed>(request.RequestId);
        Assert.Equal((request.RequestId, "conv-1", DelayReasons.RetryWait, 1, 0), (notice.RequestId, notice.ConversationId, notice.Reason,
            notice.Attempts, notice.ReplayCount));
        Assert.Equal("hubspot", notice.Metadata!["crm"]);
        Assert.Contains("gemini/gemini-2.5-pro", notice.Detail);
        // Never earlier than the provider asked for.
        Assert.True(notice.ExpectedResumeAt >= published.AddSeconds(60), $"resume at {notice.ExpectedResumeAt:O}");
        Assert.True(notice.DelayedAt >= published && notice.DelayedAt < notice.ExpectedResumeAt);
        var sent = _harness.Published.Select<CompletionDelayed>().Single();
        Assert.Equal(DelayNotices.MessageId(request.RequestId, notice.ExpectedResumeAt), sent.Context.MessageId);
        Assert.NotEqual(RequestResult.MessageId(request.RequestId), sent.Context.MessageId);
        Assert.Equal(["claim", "defer"], _lifecycle.Calls(request.RequestId));
        Assert.False(await _harness.Published.Any<CompletionSucceeded>());
        Assert.False(await _harness.Published.Any<CompletionFailed>());
    }

    [Fact]
    public async Task A_deferral_whose_claim_was_lost_publishes_no_delay_notice()
    {
        _run = new ChainRunOptions { InProcessWaitLimit = TimeSpan.FromSeconds(5), MaxDeferral = TimeSpan.FromMinutes(10) };
        _providers["gemini"] = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)));
        await _harness.Start();
        var request = Request(Patient);
        _lifecycle.LostClaims.Add(request.RequestId);

        await _harness.Bus.Publish(request);

        Assert.True(await _harness.Consumed.Any<CompletionRequested>(m => m.Context.Message.RequestId == request.RequestId));
        await _lifecycle.DeferredAsync(request.RequestId).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(await _harness.Published.Any<CompletionDelayed>());
        Assert.False(await _harness.Published.Any<CompletionSucceeded>());
        Assert.Equal(1, _providers["gemini"].Calls);
    }

    [Fact]
    public void The_delay_reason_is_the_public_code_of_the_deferral_kind_and_in_flight_has_none()
    {
        Assert.Equal(DelayReasons.RetryWait, DelayNotices.ReasonOf(DeferralKinds.Retry));
        Assert.Equal(DelayReasons.RateLimited, DelayNotices.ReasonOf(DeferralKinds.Pacing));
        Assert.Equal(DelayReasons.ProvidersUnavailable, DelayNotices.ReasonOf(DeferralKinds.Unavailable));
        Assert.Throws<ArgumentOutOfRangeException>(() => DelayNotices.ReasonOf(DeferralKinds.InFlight));
    }

    [Fact]
    public void Each_deferral_of_a_request_has_its_own_stable_notice_id()
    {
        var id = Guid.NewGuid();
        var first = DateTimeOffset.UtcNow;

        Assert.Equal(DelayNotices.MessageId(id, first), DelayNotices.MessageId(id, first));
        Assert.NotEqual(DelayNotices.MessageId(id, first), DelayNotices.MessageId(id, first.AddSeconds(66)));
        Assert.NotEqual(DelayNotices.MessageId(id, first), DelayNotices.MessageId(Guid.NewGuid(), first));
    }

    [Fact]
    public async Task A_stored_result_from_before_source_existed_is_republished_as_provider()
    {
        // A requests.result row as older versions wrote it: no "source".
        var request = Request();
        var old = $$"""
            {"requestId":"{{request.RequestId}}","conversationId":"conv-1","text":"stored","provider":"gemini","model":"gemini-2.5-pro",
             "fallbackUsed":false,"attempts":1,"inputTokens":3,"outputTokens":4,"metadata":null,"completedAt":"2026-11-01T10:00:00+00:00",
             "replayCount":0}
            """;
        var stored = Assert.IsType<RequestResult.Succeeded>(StoredJson.ReadResult(RequestStatus.Succeeded, old));
        Assert.Equal(ResultSources.Provider, stored.Message.Source);
        var explicitNull = Assert.IsType<RequestResult.Succeeded>(StoredJson.ReadResult(RequestStatus.Succeeded, old.Replace("\"replayCount\":0", "\"replayCount\":0,\"source\":null")));
        Assert.Equal(ResultSources.Provider, explicitNull.Message.Source);
        _lifecycle.StoredJsonOf[request.RequestId] = old;
        await _harness.Start();

        await _harness.Bus.Publish(request);

        var result = await ResultAsync<CompletionSucceeded>(request.RequestId);
        Assert.Equal(("stored", ResultSources.Provider), (result.Text, result.Source));
    }

    [Fact]
    public async Task A_request_whose_tenant_is_at_its_limit_is_put_back_briefly_with_no_call_no_notice_and_no_result()
    {
        await _harness.Start();
        using var held = _tenants.TryEnter(Acme);
        var request = Request() with { Tenant = Acme };
        var before = DateTimeOffset.UtcNow;

        await _harness.Bus.Publish(request);

        await _lifecycle.DeferredAsync(request.RequestId).WaitAsync(TimeSpan.FromSeconds(10));
        var after = DateTimeOffset.UtcNow;
        var deferral = _lifecycle.Deferrals[request.RequestId].Deferral!;
        Assert.Equal((DeferralKinds.TenantLimit, 0, 1, (DateTimeOffset?)null), (deferral.Kind, deferral.StepIndex, deferral.Attempt, deferral.DeferralStartedAt));
        // RetryAfter 1 s plus half of the 1 s jitter (the fixed random sample is 0.5).
        Assert.InRange(deferral.ResumeAt, before.AddSeconds(1.5), after.AddSeconds(1.5));
        Assert.Contains("tenant 'acme' has 1 request(s) running", deferral.Reason);
        Assert.Empty(_lifecycle.Deferrals[request.RequestId].Attempts);
        Assert.True(await _harness.Consumed.Any<CompletionRequested>(m => m.Context.Message.RequestId == request.RequestId));
        Assert.Equal(["claim", "defer"], _lifecycle.Calls(request.RequestId));
        Assert.Equal(0, _providers["gemini"].Calls + _providers["openai"].Calls);
        Assert.False(await _harness.Published.Any<CompletionDelayed>());
        Assert.False(await _harness.Published.Any<CompletionSucceeded>());
        Assert.False(await _harness.Published.Any<CompletionFailed>());
        Assert.Single(Measured("worker.tenant_limit.deferrals"));
        Assert.Empty(Measured("worker.routes"));
        Assert.Equal(1, _tenants.Running(Acme));
    }

    [Fact]
    public async Task A_request_put_back_for_its_tenant_runs_once_a_place_is_free_and_answers_once()
    {
        await _harness.Start();
        var held = _tenants.TryEnter(Acme)!;
        var request = Request() with { Tenant = Acme };
        await _harness.Bus.Publish(request);
        await _lifecycle.DeferredAsync(request.RequestId).WaitAsync(TimeSpan.FromSeconds(10));

        // What the release job does at resume_at: the stored message is delivered again.
        held.Dispose();
        await _harness.Bus.Publish(request);

        var result = await ResultAsync<CompletionSucceeded>(request.RequestId);
        Assert.Equal(("gemini", 1), (result.Provider, result.Attempts));
        Assert.Equal(["claim", "defer", "claim", "complete"], _lifecycle.Calls(request.RequestId));
        Assert.Equal(1, _providers["gemini"].Calls);
        Assert.Equal(0, _tenants.Running(Acme));
    }

    [Fact]
    public async Task A_resumed_request_turned_away_by_its_tenant_keeps_its_position_calls_and_deferral_clock()
    {
        await _harness.Start();
        using var held = _tenants.TryEnter(Acme);
        var request = Request() with { Tenant = Acme };
        var firstDeferral = DateTimeOffset.UtcNow.AddMinutes(-3);
        _lifecycle.Starts[request.RequestId] = new ChainStart(1, 2, PriorCalls: 3, firstDeferral) { PriorCostUsd = 0.25m };

        await _harness.Bus.Publish(request);

        await _lifecycle.DeferredAsync(request.RequestId).WaitAsync(TimeSpan.FromSeconds(10));
        var outcome = _lifecycle.Deferrals[request.RequestId];
        Assert.Equal((1, 2, (DateTimeOffset?)firstDeferral), (outcome.Deferral!.StepIndex, outcome.Deferral.Attempt, outcome.Deferral.DeferralStartedAt));
        Assert.Equal((3, 0, 0.25m), (outcome.TotalCalls, outcome.CallCount, outcome.TotalCostUsd));
        Assert.Equal(0, _providers["gemini"].Calls + _providers["openai"].Calls);
    }

    [Fact]
    public async Task Another_tenant_and_requests_without_a_tenant_run_while_one_tenant_is_at_its_limit()
    {
        await _harness.Start();
        using var held = _tenants.TryEnter(Acme);
        var globex = Request() with { Tenant = "globex" };
        var none = Request();

        await _harness.Bus.Publish(globex);
        await _harness.Bus.Publish(none);

        await ResultAsync<CompletionSucceeded>(globex.RequestId);
        await ResultAsync<CompletionSucceeded>(none.RequestId);
        Assert.Equal(2, _providers["gemini"].Calls);
    }

    public enum RunEnd
    {
        Answered,
        Failed,
        Deferred,
        WriteFailed,
        Cancelled,
    }

    [Theory]
    [InlineData(RunEnd.Answered)]
    [InlineData(RunEnd.Failed)]
    [InlineData(RunEnd.Deferred)]
    [InlineData(RunEnd.WriteFailed)]
    [InlineData(RunEnd.Cancelled)]
    public async Task The_tenant_place_is_freed_however_the_run_ends(RunEnd end)
    {
        var chain = (string?)null;
        switch (end)
        {
            case RunEnd.Failed:
                _providers["gemini"] = new ScriptedProvider("gemini", Fail(ErrorClass.Auth, 401));
                _providers["openai"] = new ScriptedProvider("openai", Fail(ErrorClass.Auth, 401));
                break;
            case RunEnd.Deferred:
                _run = new ChainRunOptions { InProcessWaitLimit = TimeSpan.FromSeconds(5), MaxDeferral = TimeSpan.FromMinutes(10) };
                _providers["gemini"] = new ScriptedProvider("gemini", Fail(ErrorClass.RateLimited, 429, TimeSpan.FromSeconds(60)));
                chain = Patient;
                break;
        }

        await _harness.Start();
        var request = Request(chain) with { Tenant = Acme };
        if (end == RunEnd.WriteFailed)
            _lifecycle.CompleteFails[request.RequestId] = new InvalidOperationException("the outcome could not be written");
        if (end == RunEnd.Cancelled)
            _lifecycle.CompleteFails[request.RequestId] = new OperationCanceledException("stopping");

        await _harness.Bus.Publish(request);

        Assert.True(await _harness.Consumed.Any<CompletionRequested>(m => m.Context.Message.RequestId == request.RequestId));
        Assert.Equal(end is RunEnd.WriteFailed or RunEnd.Cancelled, _lifecycle.Calls(request.RequestId).Contains("release"));
        Assert.Equal(end == RunEnd.Deferred, _lifecycle.Calls(request.RequestId).Contains("defer"));
        Assert.Equal(0, _tenants.Running(Acme));
        Assert.NotNull(_tenants.TryEnter(Acme));
    }

    [Fact]
    public async Task A_request_dequeued_after_its_deadline_is_failed_without_a_call_and_counted_as_expired()
    {
        await _harness.Start();
        var request = Request() with { Deadline = DateTimeOffset.UtcNow.AddMinutes(-1) };

        await _harness.Bus.Publish(request);

        var failed = await ResultAsync<CompletionFailed>(request.RequestId);
        Assert.Equal((FailureReasons.DeadlineExceeded, 0), (failed.Reason, failed.Attempts));
        Assert.Equal(0, _providers["gemini"].Calls);
        var counted = Assert.Single(Measured("worker.deadline.rejections"));
        Assert.Equal((1L, "default", WorkerMetrics.DeadlineExpired), (counted.Value, counted.Tags["chain"], counted.Tags["reason"]));
    }

    [Fact]
    public async Task A_request_whose_chain_cannot_answer_before_its_deadline_is_counted_as_too_little_time()
    {
        await _harness.Start();
        var request = Request(Unhurried) with { Deadline = DateTimeOffset.UtcNow.AddMinutes(10) };

        await _harness.Bus.Publish(request);

        var failed = await ResultAsync<CompletionFailed>(request.RequestId);
        Assert.Equal((FailureReasons.DeadlineExceeded, 0), (failed.Reason, failed.Attempts));
        Assert.Equal(0, _providers["gemini"].Calls);
        var counted = Assert.Single(Measured("worker.deadline.rejections"));
        Assert.Equal((Unhurried, WorkerMetrics.DeadlineTooLittleTime), (counted.Tags["chain"], counted.Tags["reason"]));
    }

    [Fact]
    public async Task Other_failures_and_answers_are_not_counted_as_deadline_rejections()
    {
        _providers["gemini"] = new ScriptedProvider("gemini", Fail(ErrorClass.Auth, 401));
        _providers["openai"] = new ScriptedProvider("openai", Fail(ErrorClass.Auth, 401));
        await _harness.Start();
        var failing = Request() with { Deadline = DateTimeOffset.UtcNow.AddMinutes(10) };

        await _harness.Bus.Publish(failing);

        Assert.Equal(FailureReasons.ProvidersExhausted, (await ResultAsync<CompletionFailed>(failing.RequestId)).Reason);
        Assert.Empty(Measured("worker.deadline.rejections"));
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _harness.Stop();
        await _services.DisposeAsync();
    }

    /// <summary>The scripted providers by name, looked up at call time so a test can script them before it starts.</summary>
    private sealed class Registry(Dictionary<string, ScriptedProvider> providers) : IProviderRegistry
    {
        public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ICompletionProvider? provider)
        {
            provider = providers.GetValueOrDefault(name);
            return provider is not null;
        }
    }

    private sealed class StillRunning : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    /// <summary>The request's durable state in memory: what <see cref="RequestLifecycle"/> keeps in PostgreSQL.</summary>
    private sealed class MemoryLifecycle : IRequestLifecycle
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(Guid Id, string Call)> _calls = new();

        public System.Collections.Concurrent.ConcurrentDictionary<Guid, RequestResult> Finished { get; } = new();

        public HashSet<Guid> Conflicting { get; } = [];

        public HashSet<Guid> RunningElsewhere { get; } = [];

        /// <summary>Stored results as raw JSON, for rows written by older versions.</summary>
        public Dictionary<Guid, string> StoredJsonOf { get; } = [];

        /// <summary>Requests claimed as an ops replay's run (replay count 1).</summary>
        public HashSet<Guid> Replayed { get; } = [];

        /// <summary>Requests claimed as the resumption of a deferral (at its first step, deferred a minute ago).</summary>
        public HashSet<Guid> Resumed { get; } = [];

        /// <summary>Requests whose deferral finds the claim taken by another delivery (its lease lapsed meanwhile).</summary>
        public HashSet<Guid> LostClaims { get; } = [];

        /// <summary>Where a claimed request starts (a stored deferral's position); the beginning when absent.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<Guid, ChainStart> Starts { get; } = new();

        /// <summary>Each request's last deferred outcome, as <see cref="DeferAsync"/> received it.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<Guid, ChainOutcome> Deferrals { get; } = new();

        /// <summary>Requests whose outcome write throws this (an outage past the retry window, a shutdown).</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<Guid, Exception> CompleteFails { get; } = new();

        private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, TaskCompletionSource> _deferred = new();

        /// <summary>Completes when the consumer has called <see cref="DeferAsync"/> for the request: a condition, not a poll.</summary>
        public Task DeferredAsync(Guid requestId) =>
            _deferred.GetOrAdd(requestId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public IReadOnlyList<string> Calls(Guid requestId) => [.. _calls.Where(c => c.Id == requestId).Select(c => c.Call)];

        public Task<RequestClaim> ClaimAsync(CompletionRequested request, CancellationToken cancellationToken)
        {
            _calls.Enqueue((request.RequestId, "claim"));
            var now = DateTimeOffset.UtcNow;
            if (Conflicting.Contains(request.RequestId))
            {
                return Task.FromResult(new RequestClaim(ClaimOutcome.Conflict, Guid.Empty, now, RequestStatus.InProgress, ChainStart.Beginning));
            }

            if (RunningElsewhere.Contains(request.RequestId))
            {
                return Task.FromResult(new RequestClaim(ClaimOutcome.Waiting, Guid.Empty, now, RequestStatus.InProgress, ChainStart.Beginning,
                    Detail: "running elsewhere"));
            }

            if (StoredJsonOf.TryGetValue(request.RequestId, out var json))
            {
                return Task.FromResult(new RequestClaim(ClaimOutcome.Finished, Guid.Empty, now, RequestStatus.Succeeded, ChainStart.Beginning, json));
            }

            if (Finished.TryGetValue(request.RequestId, out var stored))
            {
                return Task.FromResult(new RequestClaim(ClaimOutcome.Finished, Guid.Empty, now, RequestStatus.Succeeded, ChainStart.Beginning,
                    StoredJson.Result(stored)));
            }

            var start = Starts.GetValueOrDefault(request.RequestId, ChainStart.Beginning);
            if (Resumed.Contains(request.RequestId))
                start = start with { DeferralStartedAt = now.AddMinutes(-1) };
            return Task.FromResult(new RequestClaim(ClaimOutcome.Claimed, Guid.NewGuid(), now, RequestStatus.Received, start,
                ReplayCount: Replayed.Contains(request.RequestId) ? 1 : 0));
        }

        public Task<int> RenewLeasesAsync(IReadOnlyCollection<(Guid RequestId, Guid Token)> claims, CancellationToken cancellationToken) =>
            Task.FromResult(claims.Count);

        public Task ReleaseAsync(Guid requestId, Guid token)
        {
            _calls.Enqueue((requestId, "release"));
            return Task.CompletedTask;
        }

        public Task<RequestResult> CompleteAsync(CompletionRequested request, RequestClaim claim, ChainOutcome outcome, DateTimeOffset completedAt,
            RequestResult result, CancellationToken cancellationToken)
        {
            _calls.Enqueue((request.RequestId, "complete"));
            if (CompleteFails.TryGetValue(request.RequestId, out var error))
                return Task.FromException<RequestResult>(error);
            return Task.FromResult(Finished.GetOrAdd(request.RequestId, result));
        }

        public Task<bool> DeferAsync(CompletionRequested request, RequestClaim claim, ChainOutcome outcome, CancellationToken cancellationToken)
        {
            _calls.Enqueue((request.RequestId, "defer"));
            Deferrals[request.RequestId] = outcome;
            _deferred.GetOrAdd(request.RequestId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            return Task.FromResult(!LostClaims.Contains(request.RequestId));
        }

        public Task<(RequestResult Result, bool IsRequestResult)> RejectAsync(CompletionRequested request, string problem, DateTimeOffset receivedAt,
            DateTimeOffset completedAt, CompletionFailed result, CancellationToken cancellationToken)
        {
            _calls.Enqueue((request.RequestId, "reject"));
            return Task.FromResult<(RequestResult, bool)>((result, true));
        }
    }
}
