//! Exact, fraction-free Gaussian elimination over the integers (i128, checked).
//!
//! Used to decide which unknowns of a linear system are determined by it: x_c is determined
//! iff the unit vector e_c lies in the row space of the matrix. After full reduction every
//! pivot column has a single non-zero entry, so e_c is in the row space iff some reduced row
//! has its only non-zero entry in column c.

use super::DisclosureError;

/// Reduce `rows` (each of length `ncols`) in place to a scaled reduced row echelon form:
/// every pivot column is zero outside its pivot row; rows are divided by the gcd of their
/// entries after every step so entries stay small. Returns the rank.
pub(super) fn reduce(rows: &mut Vec<Vec<i128>>, ncols: usize) -> Result<usize, DisclosureError> {
    rows.retain(|r| r.iter().any(|&v| v != 0));
    let mut rank = 0;
    for col in 0..ncols {
        if rank == rows.len() {
            break;
        }
        // Pivot: the row (from `rank` on) with the smallest non-zero |entry| in this column.
        let Some(pivot) = (rank..rows.len())
            .filter(|&r| rows[r][col] != 0)
            .min_by_key(|&r| rows[r][col].unsigned_abs())
        else {
            continue;
        };
        rows.swap(rank, pivot);
        let pivot_row = rows[rank].clone();
        let p = pivot_row[col];
        let eliminate = |row: &mut Vec<i128>| -> Result<(), DisclosureError> {
            let f = row[col];
            if f == 0 {
                return Ok(());
            }
            for (x, &y) in row.iter_mut().zip(pivot_row.iter()) {
                // x = x * p - y * f
                *x = x
                    .checked_mul(p)
                    .and_then(|a| y.checked_mul(f).and_then(|b| a.checked_sub(b)))
                    .ok_or(DisclosureError::ArithmeticOverflow)?;
            }
            normalise(row);
            Ok(())
        };
        for (r, row) in rows.iter_mut().enumerate() {
            if r != rank {
                eliminate(row)?;
            }
        }
        rank += 1;
    }
    rows.truncate(rank);
    Ok(rank)
}

/// Columns whose unknown is uniquely determined by the system with matrix `rows`.
pub(super) fn determined_columns(
    mut rows: Vec<Vec<i128>>,
    ncols: usize,
) -> Result<Vec<bool>, DisclosureError> {
    reduce(&mut rows, ncols)?;
    let mut determined = vec![false; ncols];
    for row in &rows {
        let mut nonzero = row.iter().enumerate().filter(|(_, v)| **v != 0);
        if let (Some((c, _)), None) = (nonzero.next(), nonzero.next()) {
            determined[c] = true;
        }
    }
    Ok(determined)
}

fn normalise(row: &mut [i128]) {
    let g = row.iter().fold(0u128, |g, &v| gcd(g, v.unsigned_abs()));
    if g > 1 {
        for v in row.iter_mut() {
            *v /= g as i128;
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_unknowns_one_equation_are_not_determined() {
        // x0 + x1 = c
        assert_eq!(
            determined_columns(vec![vec![1, 1]], 2).unwrap(),
            vec![false, false]
        );
    }

    #[test]
    fn combination_of_equations_determines() {
        // x0 + x1 = a, x1 + x2 = b, x0 + x2 = c: all determined (det = 2, over Q).
        let rows = vec![vec![1, 1, 0], vec![0, 1, 1], vec![1, 0, 1]];
        assert_eq!(determined_columns(rows, 3).unwrap(), vec![true; 3]);
        // x0 - x1 = a, x1 - x2 = b, x0 - x2 = c: rank 2, nothing determined.
        let rows = vec![vec![1, -1, 0], vec![0, 1, -1], vec![1, 0, -1]];
        assert_eq!(determined_columns(rows, 3).unwrap(), vec![false; 3]);
        // x0 + x1 + x2 = a, x1 + x2 = b: x0 determined only.
        let rows = vec![vec![1, 1, 1], vec![0, 1, 1]];
        assert_eq!(
            determined_columns(rows, 3).unwrap(),
            vec![true, false, false]
        );
    }
}
