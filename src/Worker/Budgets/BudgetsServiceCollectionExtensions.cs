using Microsoft.Extensions.Options;

namespace Worker.Budgets;

public static class BudgetsServiceCollectionExtensions
{
    /// <summary>
    /// The <c>Budgets</c> section, validated at start, and <see cref="ITenantBudgets"/>: one PostgreSQL-backed singleton
    /// the chain asks before each call of a request with a tenant. <c>GET /budgets</c> is mapped with the ops API.
    /// </summary>
    public static IServiceCollection AddBudgets(this IServiceCollection services)
    {
        services.AddOptions<BudgetsOptions>().BindConfiguration(BudgetsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BudgetsOptions>, BudgetsOptionsValidator>();
        services.AddSingleton<BudgetTable>();
        services.AddSingleton<PostgresTenantBudgets>();
        services.AddSingleton<ITenantBudgets>(sp => sp.GetRequiredService<PostgresTenantBudgets>());
        return services;
    }
}
