//! A campaign's result per audience group: the treated customers against the group's control
//! customers, on conversion, orders and revenue, with intervals.

use std::collections::{BTreeMap, HashMap};

use lookalike_core::Outcome;
use serde::Serialize;

use crate::{MeanLift, MeasureError, ProportionLift, cuped, mean_lift, proportion_lift};

/// One audience member: its id, its group (a tier, a segment) and whether it was held out.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Customer id.
    pub id: &'a str,
    /// Group measured apart (e.g. the tier).
    pub group: &'a str,
    /// In the control group (not treated).
    pub control: bool,
}

/// One side of a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Side {
    /// Customers.
    pub customers: u64,
    /// Customers with a purchase in the period.
    pub converters: u64,
    /// Orders per customer.
    pub orders_per_customer: f64,
    /// Net revenue per customer.
    pub revenue_per_customer: f64,
}

/// What the campaign did in one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupResult {
    /// The group (`all` for every group together).
    pub group: String,
    /// The treated customers.
    pub treated: Side,
    /// The control customers.
    pub control: Side,
    /// Conversion lift (None without a control group or without treated customers).
    pub conversion: Option<ProportionLift>,
    /// Revenue per customer lift (Welch).
    pub revenue: Option<MeanLift>,
    /// Revenue lift on CUPED-adjusted revenue, and the share of variance the adjustment saved.
    pub revenue_cuped: Option<(MeanLift, f64)>,
    /// Why a lift is missing ("no control group: lift cannot be measured").
    pub note: Option<String>,
}

/// The campaign per group and overall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignResult {
    /// Per group in name order, then `all`.
    pub groups: Vec<GroupResult>,
    /// Customers with outcome-period lines who are not in the audience (ignored).
    pub outside_audience: u64,
    /// The confidence level of every interval.
    pub level: f64,
}

/// Measures the campaign on `members` from their `outcomes` (customers absent from the outcomes
/// did nothing: non-converters with 0 revenue). With `cuped`, revenue is also adjusted by each
/// customer's pre-period revenue.
pub fn measure_campaign(
    members: &[Member<'_>],
    outcomes: &HashMap<String, Outcome>,
    level: f64,
    cuped_adjusted: bool,
) -> Result<CampaignResult, MeasureError> {
    let mut groups: BTreeMap<&str, Vec<&Member<'_>>> = BTreeMap::new();
    for member in members {
        groups.entry(member.group).or_default().push(member);
    }
    let everyone: Vec<&Member<'_>> = members.iter().collect();
    let mut results = Vec::with_capacity(groups.len() + 1);
    for (name, group) in groups.iter().chain(std::iter::once((&"all", &everyone))) {
        results.push(measure_group(name, group, outcomes, level, cuped_adjusted)?);
    }
    let in_audience: std::collections::HashSet<&str> = members.iter().map(|m| m.id).collect();
    let outside_audience = outcomes
        .iter()
        .filter(|(id, o)| {
            (o.purchase_lines > 0 || o.revenue != 0.0) && !in_audience.contains(id.as_str())
        })
        .count() as u64;
    Ok(CampaignResult {
        groups: results,
        outside_audience,
        level,
    })
}

fn measure_group(
    name: &str,
    group: &[&Member<'_>],
    outcomes: &HashMap<String, Outcome>,
    level: f64,
    cuped_adjusted: bool,
) -> Result<GroupResult, MeasureError> {
    let nothing = Outcome::default();
    let outcome_of = |m: &Member<'_>| outcomes.get(m.id).unwrap_or(&nothing);
    let side = |control: bool| {
        let of_side: Vec<&Outcome> = group
            .iter()
            .filter(|m| m.control == control)
            .map(|m| outcome_of(m))
            .collect();
        let n = of_side.len() as f64;
        let per = |f: &dyn Fn(&Outcome) -> f64| {
            if n > 0.0 {
                of_side.iter().map(|o| f(o)).sum::<f64>() / n
            } else {
                0.0
            }
        };
        (
            Side {
                customers: of_side.len() as u64,
                converters: of_side.iter().filter(|o| o.purchase_lines > 0).count() as u64,
                orders_per_customer: per(&|o| o.orders as f64),
                revenue_per_customer: per(&|o| o.revenue),
            },
            of_side,
        )
    };
    let (treated, treated_outcomes) = side(false);
    let (control, control_outcomes) = side(true);
    let mut result = GroupResult {
        group: name.to_string(),
        treated: treated.clone(),
        control: control.clone(),
        conversion: None,
        revenue: None,
        revenue_cuped: None,
        note: None,
    };
    if control.customers == 0 {
        result.note = Some("no control group: lift cannot be measured".into());
        return Ok(result);
    }
    if treated.customers == 0 {
        result.note = Some("no treated customers: lift cannot be measured".into());
        return Ok(result);
    }
    result.conversion = Some(proportion_lift(
        (treated.converters, treated.customers),
        (control.converters, control.customers),
        level,
    )?);
    if treated.customers < 2 || control.customers < 2 {
        result.note = Some("fewer than two customers on a side: no revenue interval".into());
        return Ok(result);
    }
    let revenue = |o: &[&Outcome]| o.iter().map(|o| o.revenue).collect::<Vec<f64>>();
    let (treated_revenue, control_revenue) =
        (revenue(&treated_outcomes), revenue(&control_outcomes));
    result.revenue = Some(mean_lift(&treated_revenue, &control_revenue, level)?);
    if cuped_adjusted {
        let all: Vec<f64> = treated_revenue
            .iter()
            .chain(&control_revenue)
            .copied()
            .collect();
        let pre: Vec<f64> = treated_outcomes
            .iter()
            .chain(&control_outcomes)
            .map(|o| o.pre_revenue)
            .collect();
        let (adjusted, saved) = cuped(&all, &pre)?;
        let split = treated_revenue.len();
        result.revenue_cuped = Some((
            mean_lift(&adjusted[..split], &adjusted[split..], level)?,
            saved,
        ));
    }
    Ok(result)
}

impl CampaignResult {
    /// The result as CSV: one row per group, every number in its own column.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let write = |writer: &mut csv::Writer<Vec<u8>>, cells: &[String]| {
            writer
                .write_record(cells)
                .expect("a CSV record written to memory cannot fail");
        };
        write(&mut writer, &CSV_COLUMNS.map(String::from));
        let number = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
        for g in &self.groups {
            let c = g.conversion.as_ref();
            let r = g.revenue.as_ref();
            let cu = g.revenue_cuped.as_ref();
            let cells = [
                g.group.clone(),
                g.treated.customers.to_string(),
                g.control.customers.to_string(),
                g.treated.converters.to_string(),
                g.control.converters.to_string(),
                number(c.map(|c| c.treated_rate)),
                number(c.map(|c| c.control_rate)),
                number(c.map(|c| c.absolute)),
                number(c.map(|c| c.absolute_interval.low)),
                number(c.map(|c| c.absolute_interval.high)),
                number(c.and_then(|c| c.relative)),
                number(c.and_then(|c| c.relative_interval).map(|i| i.low)),
                number(c.and_then(|c| c.relative_interval).map(|i| i.high)),
                number(c.map(|c| c.p_value)),
                number(c.map(|c| c.incremental)),
                number(c.map(|c| c.incremental_interval.low)),
                number(c.map(|c| c.incremental_interval.high)),
                format!("{}", g.treated.orders_per_customer),
                format!("{}", g.control.orders_per_customer),
                format!("{}", g.treated.revenue_per_customer),
                format!("{}", g.control.revenue_per_customer),
                number(r.map(|r| r.absolute)),
                number(r.map(|r| r.absolute_interval.low)),
                number(r.map(|r| r.absolute_interval.high)),
                number(r.map(|r| r.p_value)),
                number(r.map(|r| r.incremental)),
                number(r.map(|r| r.incremental_interval.low)),
                number(r.map(|r| r.incremental_interval.high)),
                number(cu.map(|c| c.0.absolute)),
                number(cu.map(|c| c.0.absolute_interval.low)),
                number(cu.map(|c| c.0.absolute_interval.high)),
                number(cu.map(|c| c.0.p_value)),
                number(cu.map(|c| c.1)),
                g.note.clone().unwrap_or_default(),
            ];
            write(&mut writer, &cells);
        }
        let bytes = writer
            .into_inner()
            .expect("flushing a CSV writer into memory cannot fail");
        String::from_utf8(bytes).expect("the cells are UTF-8 strings")
    }
}

/// The columns of [`CampaignResult::to_csv`].
const CSV_COLUMNS: [&str; 34] = [
    "group",
    "treated_customers",
    "control_customers",
    "treated_converters",
    "control_converters",
    "treated_conversion",
    "control_conversion",
    "conversion_lift",
    "conversion_lift_low",
    "conversion_lift_high",
    "relative_conversion_lift",
    "relative_conversion_lift_low",
    "relative_conversion_lift_high",
    "conversion_p_value",
    "incremental_conversions",
    "incremental_conversions_low",
    "incremental_conversions_high",
    "treated_orders_per_customer",
    "control_orders_per_customer",
    "treated_revenue_per_customer",
    "control_revenue_per_customer",
    "revenue_lift",
    "revenue_lift_low",
    "revenue_lift_high",
    "revenue_p_value",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
    "cuped_revenue_lift",
    "cuped_revenue_lift_low",
    "cuped_revenue_lift_high",
    "cuped_revenue_p_value",
    "cuped_variance_saved",
    "note",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(purchases: u64, revenue: f64, pre: f64) -> Outcome {
        Outcome {
            orders: purchases,
            purchase_lines: purchases,
            revenue,
            pre_revenue: pre,
        }
    }

    #[test]
    fn absent_customers_are_non_converters_and_a_group_without_control_has_no_lift() {
        let members = [
            Member {
                id: "a",
                group: "5%",
                control: false,
            },
            Member {
                id: "b",
                group: "5%",
                control: false,
            },
            Member {
                id: "c",
                group: "5%",
                control: true,
            },
            Member {
                id: "d",
                group: "5%",
                control: true,
            },
            Member {
                id: "e",
                group: "10%",
                control: false,
            },
        ];
        let outcomes: HashMap<String, Outcome> = [
            ("a".to_string(), outcome(1, 50.0, 10.0)),
            ("c".to_string(), outcome(2, 30.0, 5.0)),
            ("z".to_string(), outcome(1, 99.0, 0.0)),
        ]
        .into_iter()
        .collect();
        let result = measure_campaign(&members, &outcomes, 0.95, false).unwrap();
        let names: Vec<&str> = result.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["10%", "5%", "all"]);
        let tier = &result.groups[1];
        assert_eq!((tier.treated.customers, tier.treated.converters), (2, 1));
        assert_eq!((tier.control.customers, tier.control.converters), (2, 1));
        assert_eq!(tier.treated.revenue_per_customer, 25.0);
        assert_eq!(tier.control.orders_per_customer, 1.0);
        assert!(tier.conversion.is_some() && tier.revenue.is_some());
        let alone = &result.groups[0];
        assert_eq!(
            alone.note.as_deref(),
            Some("no control group: lift cannot be measured")
        );
        assert!(alone.conversion.is_none());
        assert_eq!(result.groups[2].treated.customers, 3);
        // z bought but is not in the audience.
        assert_eq!(result.outside_audience, 1);
        let csv = result.to_csv();
        assert_eq!(csv.lines().count(), 4);
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .ends_with("no control group: lift cannot be measured")
        );
    }
}
