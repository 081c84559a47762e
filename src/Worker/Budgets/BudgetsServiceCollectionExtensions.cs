using Microsoft.Extensions.Options;

namespace Worker.Budgets;

public static class BudgetsServiceCollectionExtensions
{
    /// <summary>The <c>Budgets</c> section, validated at start, and the table of budgets it gives.</summary>
    public static IServiceCollection AddBudgets(this IServiceCollection services)
    {
        services.AddOptions<BudgetsOptions>().BindConfiguration(BudgetsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BudgetsOptions>, BudgetsOptionsValidator>();
        services.AddSingleton<BudgetTable>();
        return services;
    }
}
