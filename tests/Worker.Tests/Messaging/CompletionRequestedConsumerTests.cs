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
using Worker.Requests;
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
    private readonly MemoryLifecycle _lifecycle = new();
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
                Guards.ChainRun(), TimeProvider.System, NullLogger<ChainRunner>.Instance, new FixedRandom(0.5)))
            .AddSingleton<IRequestLifecycle>(_lifecycle)
            .AddSingleton(sp => new ClaimLeases(_lifecycle, Options.Create(new ClaimLeaseOptions()), TimeProvider.System, NullLogger<ClaimLeases>.Instance))
            .AddSingleton(Options.Create(new RequestLimits()))
            .AddSingleton(Options.Create(new MessagingOptions()))
            .AddSingleton<IParking>(new ChainParking(Options.Create(new DeadLettersOptions())))
            .AddMassTransitTestHarness(x => x.AddConsumer<CompletionRequestedConsumer>())
            .BuildServiceProvider(validateScopes: true);
        _harness = _services.GetRequiredService<ITestHarness>();
    }

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
        _ => Guid.Empty,
    };

    [Fact]
    public async Task A_valid_request_is_claimed_run_finished_and_answered_once()
    {
        await _harness.Start();
        var request = Request();

        await _harness.Bus.Publish(request);

        var result = await ResultAsync<CompletionSucceeded>(request.RequestId);
        Assert.Equal(("from gemini", "gemini", false), (result.Text, result.Provider, result.FallbackUsed));
        Assert.Equal(RequestResult.MessageId(request.RequestId), _harness.Published.Select<CompletionSucceeded>().Single().Context.MessageId);
        Assert.Equal(["claim", "complete"], _lifecycle.Calls(request.RequestId));
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

    public async ValueTask DisposeAsync()
    {
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

            if (Finished.TryGetValue(request.RequestId, out var stored))
            {
                return Task.FromResult(new RequestClaim(ClaimOutcome.Finished, Guid.Empty, now, RequestStatus.Succeeded, ChainStart.Beginning,
                    StoredJson.Result(stored)));
            }

            return Task.FromResult(new RequestClaim(ClaimOutcome.Claimed, Guid.NewGuid(), now, RequestStatus.Received, ChainStart.Beginning));
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
            return Task.FromResult(Finished.GetOrAdd(request.RequestId, result));
        }

        public Task<bool> DeferAsync(CompletionRequested request, RequestClaim claim, ChainOutcome outcome, CancellationToken cancellationToken)
        {
            _calls.Enqueue((request.RequestId, "defer"));
            return Task.FromResult(true);
        }

        public Task<(RequestResult Result, bool IsRequestResult)> RejectAsync(CompletionRequested request, string problem, DateTimeOffset receivedAt,
            DateTimeOffset completedAt, CompletionFailed result, CancellationToken cancellationToken)
        {
            _calls.Enqueue((request.RequestId, "reject"));
            return Task.FromResult<(RequestResult, bool)>((result, true));
        }
    }
}
