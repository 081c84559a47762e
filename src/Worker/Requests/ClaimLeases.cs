using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Worker.Requests;

/// <summary>
/// Keeps the claims of the requests this instance is running alive: one UPDATE every Messaging:ClaimRenewInterval for
/// all of them, rather than a timer per request. If PostgreSQL is away the renewal is skipped and tried again at the next
/// tick; a lease is a minute by default, so a short outage does not let a duplicate run.
/// </summary>
public sealed class ClaimLeases(IRequestLifecycle audit, IOptions<ClaimLeaseOptions> options, TimeProvider time, ILogger<ClaimLeases> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, Guid> _held = new();

    /// <summary>Claims held now, for tests and the log.</summary>
    public int Count => _held.Count;

    /// <summary>Renews the claim of <paramref name="token"/> until the returned handle is disposed.</summary>
    public IDisposable Hold(Guid requestId, Guid token)
    {
        _held[token] = requestId;
        return new Handle(this, token);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ClaimRenewInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var claims = _held.Select(h => (RequestId: h.Value, Token: h.Key)).ToList();
                try
                {
                    await audit.RenewLeasesAsync(claims, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.LeasesNotRenewed(logger, claims.Count, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the claims still held are released by their consumers or lapse.
        }
    }

    private sealed class Handle(ClaimLeases owner, Guid token) : IDisposable
    {
        public void Dispose() => owner._held.TryRemove(token, out _);
    }
}
