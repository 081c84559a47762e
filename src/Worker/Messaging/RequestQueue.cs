using MassTransit;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Worker.Contracts;
using Worker.Requests;

namespace Worker.Messaging;

/// <summary>
/// The request queue's type (Messaging:QueueType) wherever the worker declares or addresses it: the receive endpoint, the
/// <c>_error</c> and <c>_skipped</c> queues (MassTransit copies the endpoint's queue arguments to both), sends back to the
/// queue, and the start-up check that names the setting when the broker holds the queue as the other type.
/// </summary>
public static class RequestQueue
{
    public const string Classic = "classic";
    public const string Quorum = "quorum";

    public static readonly IReadOnlyList<string> Types = [Classic, Quorum];

    public static string ErrorQueue(string queueName) => queueName + "_error";

    public static string SkippedQueue(string queueName) => queueName + "_skipped";

    /// <summary>
    /// The arguments every queue of the endpoint is declared with: <c>x-queue-type</c> for quorum, <c>x-max-priority</c> (an
    /// int, as the endpoint declares it: RabbitMQ compares the argument's type too) for a classic queue with priorities,
    /// none otherwise. No <c>x-delivery-limit</c>: on RabbitMQ 3.x -1 means "drop after one redelivery", and a limit without
    /// a dead-letter target drops messages; a redelivery here is a crash or a stop, never a poison loop.
    /// </summary>
    public static IDictionary<string, object?>? Arguments(MessagingOptions options) =>
        options.IsQuorum ? new Dictionary<string, object?> { [RabbitMQ.Client.Headers.XQueueType] = Quorum }
        : options.EffectiveMaxPriority > 0 ? new Dictionary<string, object?> { [RabbitMQ.Client.Headers.XMaxPriority] = options.EffectiveMaxPriority }
        : null;

    /// <summary>Applies the queue type and priorities to the request endpoint; the error and skipped queues inherit them.</summary>
    public static void Configure(IReceiveEndpointConfigurator endpoint, MessagingOptions options)
    {
        if (endpoint is not IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            return;
        }

        if (options.IsQuorum)
        {
            rabbit.SetQuorumQueue();
        }
        else if (options.EffectiveMaxPriority > 0)
        {
            rabbit.SetQueueArgument(RabbitMQ.Client.Headers.XMaxPriority, options.EffectiveMaxPriority);
        }
    }

    /// <summary>
    /// Gives every request the worker sends back to its queue (deferral release, ops replay) the AMQP priority of its body,
    /// so a resumed or replayed request keeps its place; a bus-wide send filter, so no send site can forget it.
    /// </summary>
    public static void StampPriority(SendContext context)
    {
        if (context is SendContext<CompletionRequested> request)
        {
            request.TrySetPriority(RequestPriority.Amqp(request.Message));
        }
    }

    /// <summary>
    /// Where the worker sends a request back to its own queue (deferral release, replay). <c>queue:</c> makes MassTransit
    /// declare the queue without arguments, which a queue declared with some (quorum, or <c>x-max-priority</c>) refuses
    /// (PRECONDITION_FAILED), so such a queue is reached through its exchange, which the receive endpoint declared and
    /// bound to it at start.
    /// </summary>
    public static Uri SendAddress(MessagingOptions options) =>
        new(Arguments(options) is null ? $"queue:{options.QueueName}" : $"exchange:{options.QueueName}");

    /// <summary>
    /// Refuses to start when the broker already holds the request queue (or its error or skipped queue) with other arguments
    /// than Messaging:QueueType and Messaging:MaxPriority give (another type; a queue declared before priorities, or with
    /// another maximum): MassTransit would otherwise retry the declaration forever and never consume. A broker that cannot
    /// be reached is left to MassTransit's reconnection; returns whether the check ran.
    /// </summary>
    public static async Task<bool> EnsureArgumentsAsync(RabbitMqAddress broker, MessagingOptions options, CancellationToken cancellationToken = default)
    {
        var factory = new ConnectionFactory
        {
            HostName = broker.Host,
            Port = broker.Port,
            VirtualHost = broker.VirtualHost,
            UserName = broker.Username,
            Password = broker.Password,
            Ssl = new SslOption { Enabled = broker.UseTls, ServerName = broker.Host },
            ClientProvidedName = "llm-worker queue arguments check",
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
            AutomaticRecoveryEnabled = false,
        };
        try
        {
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            foreach (var queue in new[] { options.QueueName, ErrorQueue(options.QueueName), SkippedQueue(options.QueueName) })
            {
                if (!await ExistsAsync(connection, queue, cancellationToken))
                {
                    continue;
                }

                // A re-declaration with the same arguments changes nothing; with other ones the broker refuses it.
                await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
                try
                {
                    await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, Arguments(options),
                        cancellationToken: cancellationToken);
                }
                catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
                {
                    throw new ConfigurationException(Mismatch(queue, options, broker, e.ShutdownReason.ReplyText));
                }
            }
        }
        catch (Exception e) when (e is not ConfigurationException and not OperationCanceledException)
        {
            // Unreachable, refused, timed out: MassTransit's connection retries and /health/ready report that.
            return false;
        }

        return true;
    }

    internal static string Mismatch(string queue, MessagingOptions options, RabbitMqAddress broker, string brokerSays) =>
        $"{MessagingOptions.Section}:QueueType is {options.QueueType.ToLowerInvariant()}, but the queue '{queue}' on {broker} was declared with " +
        $"other arguments (the broker says: {brokerSays}). This worker declares it {Describe(options)}. RabbitMQ cannot change a queue's type " +
        $"in place, nor its x-max-priority: stop every worker, let the queue drain (or move its messages), delete '{options.QueueName}', " +
        $"'{ErrorQueue(options.QueueName)}' and '{SkippedQueue(options.QueueName)}', then start the workers with the new settings; or set " +
        $"{MessagingOptions.Section}:QueueType (env {OptionProblems.Env($"{MessagingOptions.Section}:QueueType")}) and {MessagingOptions.Section}:MaxPriority " +
        $"(env {OptionProblems.Env($"{MessagingOptions.Section}:MaxPriority")}) to what the queue has (a classic queue declared before priorities " +
        "existed: MaxPriority=0). See docs/scaling.md.";

    private static string Describe(MessagingOptions options) =>
        options.IsQuorum ? "as a quorum queue (no priorities)"
        : options.EffectiveMaxPriority > 0 ? $"as a classic queue with x-max-priority {options.EffectiveMaxPriority} ({MessagingOptions.Section}:MaxPriority)"
        : $"as a classic queue without priorities ({MessagingOptions.Section}:MaxPriority=0)";

    private static async Task<bool> ExistsAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }
}

/// <summary>The configured request queue, for the features that send requests back to it.</summary>
internal sealed class ConfiguredRequestQueue(IOptions<MessagingOptions> options) : IRequestQueue
{
    public string Name => options.Value.QueueName;

    public Uri SendAddress => RequestQueue.SendAddress(options.Value);
}
