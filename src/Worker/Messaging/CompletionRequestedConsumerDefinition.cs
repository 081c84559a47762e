using MassTransit;
using Microsoft.Extensions.Options;

namespace Worker.Messaging;

/// <summary>The request queue's name, type, concurrency and prefetch, all from the <c>Messaging</c> section.</summary>
public sealed class CompletionRequestedConsumerDefinition : ConsumerDefinition<CompletionRequestedConsumer>
{
    private readonly MessagingOptions _options;

    public CompletionRequestedConsumerDefinition(IOptions<MessagingOptions> options)
    {
        _options = options.Value;
        EndpointName = _options.QueueName;
        ConcurrentMessageLimit = _options.ConcurrencyLimit;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<CompletionRequestedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = _options.PrefetchCount;
        RequestQueue.Configure(endpointConfigurator, _options);
        // Deliberately no UseMessageRetry: the chain is the only retry loop (see ChainRunner).
    }
}
