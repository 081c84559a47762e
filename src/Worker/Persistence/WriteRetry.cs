using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.Retry;
using Worker.Audit;

namespace Worker.Persistence;

/// <summary>
/// Retries one database write while PostgreSQL is unreachable, inside the consumer, for as long as the process lives: the
/// message stays unacknowledged and a chain outcome stays in memory, so a database outage never loses a paid outcome
/// nor makes the worker call (and pay) a provider again, and no new work is taken meanwhile (every consumer slot waits).
/// A Polly retry pipeline: exponential backoff from <see cref="FirstDelay"/> to <see cref="MaxDelay"/> on the injected
/// clock, no attempt limit; past <see cref="AuditOptions.WriteRetryFor"/> the outage is reported once per write as an
/// error. The caller's token ends it at shutdown. Errors PostgreSQL will repeat (a constraint, a bad value) are not
/// retried. Each try holds a <see cref="DatabaseGate"/> slot, so these writes never ask the pool for more connections
/// than it has.
/// </summary>
public sealed class WriteRetry
{
    internal static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    internal static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    private static readonly ResiliencePropertyKey<WriteState> State = new("worker.write");

    private readonly ResiliencePipeline _pipeline;
    private readonly DatabaseGate _gate;
    private readonly TimeProvider _time;
    private readonly ILogger<WriteRetry> _logger;

    public WriteRetry(IOptions<AuditOptions> options, DatabaseGate gate, TimeProvider time, ILogger<WriteRetry> logger)
    {
        _gate = gate;
        _time = time;
        _logger = logger;
        var reportAfter = options.Value.WriteRetryFor;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && !args.Context.CancellationToken.IsCancellationRequested && IsTransient(e)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                Delay = FirstDelay,
                MaxDelay = MaxDelay,
                UseJitter = false,
                OnRetry = args =>
                {
                    var state = args.Context.Properties.GetValue(State, null!);
                    var elapsed = _time.GetElapsedTime(state.Started);
                    if (!state.Reported && elapsed + args.RetryDelay > reportAfter)
                    {
                        state.Reported = true;
                        Log.WriteStillFailing(_logger, args.Outcome.Exception!, state.RequestId, state.Write, (long)elapsed.TotalMilliseconds);
                    }
                    else
                    {
                        Log.WriteRetrying(_logger, state.RequestId, state.Write, args.Outcome.Exception!.Message, (long)args.RetryDelay.TotalMilliseconds,
                            (long)elapsed.TotalMilliseconds);
                    }

                    state.Tries++;
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <param name="write">What is written, for the logs: "claim", "outcome" or "deferral".</param>
    public async Task<T> RunAsync<T>(string write, Guid requestId, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        var state = new WriteState(write, requestId, _time.GetTimestamp());
        context.Properties.Set(State, state);
        try
        {
            var result = await _pipeline.ExecuteAsync(async (ctx, run) =>
            {
                using (await _gate.EnterAsync(ctx.CancellationToken))
                {
                    return await run(ctx.CancellationToken);
                }
            }, context, attempt);
            if (state.Tries > 0)
            {
                Log.WriteRecovered(_logger, requestId, write, state.Tries + 1);
            }

            return result;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            // Shutdown: a cancellation, whatever the broken connection threw, so the message is requeued.
            throw new OperationCanceledException($"The audit {write} write was cancelled", e, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.WriteFailed(_logger, e, requestId, write, e.Message);
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Connection refused or lost, server shutting down or starting up, out of resources, timeouts.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    // 08: connection exception; 53: insufficient resources; 57P: shutdown, crash, cannot connect now.
                    return pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || pg.SqlState.StartsWith("53", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal);
                case NpgsqlException { IsTransient: true }:
                case TimeoutException or IOException or SocketException:
                    return true;
            }
        }

        return false;
    }

    private sealed class WriteState(string write, Guid requestId, long started)
    {
        public string Write { get; } = write;

        public Guid RequestId { get; } = requestId;

        public long Started { get; } = started;

        public bool Reported { get; set; }

        public int Tries { get; set; }
    }
}
