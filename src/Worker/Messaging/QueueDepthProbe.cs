using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Worker.Messaging;

/// <summary>
/// Samples the request queue's depth for <see cref="LoadShedder"/> every Shedding:ProbeInterval, with a passive declare on
/// a connection of its own; idle unless Shedding:MaxQueueDepth is on. A failed sample is logged once per outage and the
/// old sample ages out, so a broker hiccup never sheds on stale figures.
/// </summary>
internal sealed class QueueDepthProbe(
    RabbitMqAddress broker,
    IOptions<MessagingOptions> messaging,
    IOptions<SheddingOptions> options,
    LoadShedder shedder,
    TimeProvider time,
    ILogger<QueueDepthProbe> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.MaxQueueDepth <= 0)
        {
            return;
        }

        var factory = new ConnectionFactory
        {
            HostName = broker.Host,
            Port = broker.Port,
            VirtualHost = broker.VirtualHost,
            UserName = broker.Username,
            Password = broker.Password,
            Ssl = new SslOption { Enabled = broker.UseTls, ServerName = broker.Host },
            ClientProvidedName = "llm-worker queue depth probe",
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
            AutomaticRecoveryEnabled = false,
        };
        IConnection? connection = null;
        IChannel? channel = null;
        var failing = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    connection ??= await factory.CreateConnectionAsync(stoppingToken);
                    channel ??= await connection.CreateChannelAsync(cancellationToken: stoppingToken);
                    var depth = await channel.MessageCountAsync(messaging.Value.QueueName, stoppingToken);
                    shedder.Observe(depth);
                    failing = false;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (!failing)
                    {
                        Log.DepthProbeFailed(logger, messaging.Value.QueueName, e.Message);
                    }

                    failing = true;
                    // A closed channel (the queue not declared yet) or a lost connection: a new one next time.
                    await CloseAsync(channel, connection);
                    (channel, connection) = (null, null);
                }

                await Task.Delay(options.Value.ProbeInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await CloseAsync(channel, connection);
        }
    }

    private static async Task CloseAsync(IChannel? channel, IConnection? connection)
    {
        try
        {
            if (channel is not null)
                await channel.DisposeAsync();
            if (connection is not null)
                await connection.DisposeAsync();
        }
        catch (Exception)
        {
            // Already broken: nothing to release.
        }
    }
}
